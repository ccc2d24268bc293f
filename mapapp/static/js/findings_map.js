/* Draw findings on a folium map from a JSON data block, with text-only popups.
 *
 * Each <script type="application/json" class="js-findings-data" data-map="map_…">
 * holds a list of findings (see mapapp/views.py map_data). Every text goes into
 * the popup with textContent, never as HTML, so a description like
 * "<img onerror=…>" shows as those characters and never runs.
 */
(function () {
  "use strict";

  var COLOURS = { ny: "#c62828", tilldelad: "#ef8a00", atgardad: "#2e7d32", avvisad: "#757575" };

  function line(parent, tag, text, className) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (className) { el.className = className; }
    parent.appendChild(el);
    return el;
  }

  function popup(f) {
    var box = document.createElement("div");
    box.className = "tk-popup";
    line(box, "strong", f.category);
    line(box, "div", (f.status_label || "") + (f.owner ? " · " + f.owner : "") +
         (f.severity ? " · allvarlighet " + f.severity : ""), "tk-popup-meta");
    if (f.row) { line(box, "div", "Rad " + f.row + " i filen", "tk-popup-meta"); }
    if (f.found) { line(box, "div", f.found, "tk-popup-meta"); }
    if (f.place) { line(box, "div", f.place, "tk-popup-meta tk-popup-place"); }
    if (f.description) { line(box, "p", f.description, "tk-popup-text"); }
    if (f.url) {
      var a = line(box, "a", "Visa fyndet");
      a.href = f.url;
    }
    return box;
  }

  function draw(script) {
    var map = window[script.dataset.map];
    if (!map || !window.L) { return; }
    var data = JSON.parse(script.textContent || "[]");
    var group = L.featureGroup();
    data.forEach(function (f) {
      var colour = COLOURS[f.status] || "#1565c0";
      var shape;
      if (f.line) {
        shape = L.polyline(f.line, { color: colour, weight: 5, opacity: 0.9 });
      } else {
        shape = L.circleMarker([f.lat, f.lon], {
          radius: 5 + 2 * (f.severity || 1), color: "#212121", weight: 1,
          fillColor: colour, fillOpacity: 0.85
        });
      }
      shape.tkFinding = f;
      shape.bindPopup(function () { return popup(f); }, { maxWidth: 280 });
      shape.addTo(group);
    });
    group.addTo(map);
    if (data.length && script.dataset.fit !== "no") {
      map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [24, 24], animate: false });
    }
    map.tkFindings = group;
  }

  document.querySelectorAll("script.js-findings-data").forEach(draw);
})();
