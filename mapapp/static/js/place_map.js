/* Draw places on a folium map from a JSON data block, with text-only popups.
 *
 * <script type="application/json" class="js-shapes-data" data-map="map_…"> holds a
 * list of GeoJSON features (WGS 84). ``properties.kind`` picks the style: ``site``
 * (a platssamverkan site), ``ring`` (the ring around it), ``route`` (a walk's
 * route) or ``lamp`` (a lighting finding: a circle sized by ``properties.weight``).
 * ``label`` is the tooltip, ``lines`` the popup's lines and ``url`` a link in it;
 * every text goes in with textContent, never as HTML. The map is fitted to the
 * shapes unless data-fit="no".
 */
(function () {
  "use strict";

  var STYLES = {
    site: { color: "#1f4e9c", weight: 3, fillColor: "#4f83d1", fillOpacity: 0.3 },
    ring: { color: "#b45309", weight: 2, dashArray: "6 5", fillColor: "#f59e0b",
            fillOpacity: 0.08 },
    route: { color: "#0b3d6b", weight: 5, opacity: 0.85 },
    outline: { color: "#8a8a8a", weight: 1, fillColor: "#fffbea", fillOpacity: 0.55,
               interactive: false },
    other: { color: "#6b7280", weight: 2, dashArray: "3 3", fillColor: "#9ca3af",
             fillOpacity: 0.25 }
  };

  function popup(p) {
    var box = document.createElement("div");
    box.className = "tk-popup";
    var title = document.createElement("strong");
    title.textContent = p.label || "";
    box.appendChild(title);
    (p.lines || []).forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      box.appendChild(line);
    });
    if (p.url) {
      var link = document.createElement("a");
      link.href = p.url;
      link.textContent = p.link || "Visa";
      box.appendChild(link);
    }
    return box;
  }

  function draw(script) {
    var map = window[script.dataset.map];
    if (!map || !window.L) { return; }
    var features = JSON.parse(script.textContent || "[]");
    var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      style: function (feature) {
        var kind = feature.properties.kind;
        // lamps keep the options pointToLayer gives them
        return kind === "lamp" ? {} : (STYLES[kind] || STYLES.site);
      },
      pointToLayer: function (feature, latlng) {
        // a hidden small count ("<5") comes as small: drawn as one size, never its value
        var w = feature.properties.small ? 2.5 : (feature.properties.weight || 0);
        return L.circleMarker(latlng, {
          radius: 5 + Math.min(14, Math.sqrt(w) * 2.2), color: "#212121", weight: 1,
          fillColor: w > 0 ? "#7b2cbf" : "#adb5bd", fillOpacity: 0.8
        });
      },
      onEachFeature: function (feature, shape) {
        var p = feature.properties;
        if (p.label && p.kind !== "outline") {
          var tip = document.createElement("span");
          tip.textContent = p.label;
          shape.bindTooltip(tip, { sticky: true });
        }
        if (p.lines || p.url) {
          shape.bindPopup(function () { return popup(p); }, { maxWidth: 300 });
        }
      }
    }).addTo(map);
    if (features.length && features[0].properties.kind === "outline") { layer.bringToBack(); }
    if (features.length && script.dataset.fit !== "no") {
      map.fitBounds(layer.getBounds(), { maxZoom: 17, padding: [24, 24], animate: false });
    }
    map.tkShapes = layer;
  }

  document.querySelectorAll("script.js-shapes-data").forEach(draw);
})();
