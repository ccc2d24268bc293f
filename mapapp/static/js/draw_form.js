/* Draw a site's polygon or a walk's route with Leaflet.draw (served by the app).
 *
 * Loaded in <head> right after Leaflet.draw, so the Swedish texts are in place
 * before folium's script builds the toolbar. After the page has loaded, every
 * element with data-draw-form ties a folium map (data-map), the Draw control's
 * layer group (window["drawnItems_" + data-draw]) and a hidden input
 * (data-input): the shapes already saved are put into the group (multi parts one
 * by one, so each can be edited), and every drawing, edit or removal writes the
 * group as a GeoJSON FeatureCollection (WGS 84) into the input.
 */
(function () {
  "use strict";

  function localize() {
    if (!window.L || !L.drawLocal) { return; }
    var d = L.drawLocal.draw, e = L.drawLocal.edit;
    d.toolbar.actions.title = "Avbryt ritningen";
    d.toolbar.actions.text = "Avbryt";
    d.toolbar.finish.title = "Avsluta ritningen";
    d.toolbar.finish.text = "Klar";
    d.toolbar.undo.title = "Ta bort den senaste punkten";
    d.toolbar.undo.text = "Ångra punkt";
    d.toolbar.buttons.polygon = "Rita en yta (polygon)";
    d.toolbar.buttons.polyline = "Rita en linje (rutt)";
    d.toolbar.buttons.rectangle = "Rita en rektangel";
    d.handlers.polygon.tooltip.start = "Klicka för att börja rita ytan.";
    d.handlers.polygon.tooltip.cont = "Klicka för att fortsätta rita ytan.";
    d.handlers.polygon.tooltip.end = "Klicka på första punkten för att stänga ytan.";
    d.handlers.polyline.tooltip.start = "Klicka för att börja rita rutten.";
    d.handlers.polyline.tooltip.cont = "Klicka för att fortsätta rutten.";
    d.handlers.polyline.tooltip.end = "Klicka på sista punkten (eller Klar) för att avsluta.";
    d.handlers.polyline.error = "<strong>Fel:</strong> kanterna får inte korsa varandra!";
    d.handlers.rectangle.tooltip.start = "Klicka och dra för att rita en rektangel.";
    d.handlers.simpleshape.tooltip.end = "Släpp musknappen för att avsluta.";
    e.toolbar.actions.save.title = "Spara ändringarna";
    e.toolbar.actions.save.text = "Spara";
    e.toolbar.actions.cancel.title = "Avbryt och ångra ändringarna";
    e.toolbar.actions.cancel.text = "Avbryt";
    e.toolbar.actions.clearAll.title = "Ta bort alla former";
    e.toolbar.actions.clearAll.text = "Rensa allt";
    e.toolbar.buttons.edit = "Ändra formen";
    e.toolbar.buttons.editDisabled = "Inget att ändra";
    e.toolbar.buttons.remove = "Ta bort en form";
    e.toolbar.buttons.removeDisabled = "Inget att ta bort";
    e.handlers.edit.tooltip.text = "Dra i hörnen för att ändra formen.";
    e.handlers.edit.tooltip.subtext = "Klicka Avbryt för att ångra.";
    e.handlers.remove.tooltip.text = "Klicka på en form för att ta bort den.";
  }

  function layersOf(geojson) {
    var out = [];
    L.geoJSON(geojson, {
      onEachFeature: function (feature) {
        var g = feature.geometry;
        if (!g) { return; }
        if (g.type === "Polygon") {
          out.push(L.polygon(L.GeoJSON.coordsToLatLngs(g.coordinates, 1)));
        } else if (g.type === "MultiPolygon") {
          g.coordinates.forEach(function (c) {
            out.push(L.polygon(L.GeoJSON.coordsToLatLngs(c, 1)));
          });
        } else if (g.type === "LineString") {
          out.push(L.polyline(L.GeoJSON.coordsToLatLngs(g.coordinates, 0)));
        } else if (g.type === "MultiLineString") {
          g.coordinates.forEach(function (c) {
            out.push(L.polyline(L.GeoJSON.coordsToLatLngs(c, 0)));
          });
        }
      }
    });
    return out;
  }

  function setUp(holder) {
    var map = window[holder.dataset.map];
    var group = window["drawnItems_" + holder.dataset.draw];
    var input = document.getElementById(holder.dataset.input);
    var status = holder.querySelector(".js-draw-status");
    if (!map || !group || !input) { return; }
    var noun = holder.dataset.kind === "line" ? ["linje", "linjer"] : ["yta", "ytor"];

    function sync() {
      var collection = group.toGeoJSON();
      var n = collection.features.length;
      input.value = n ? JSON.stringify(collection) : "";
      if (status) {
        status.textContent = n ? n + " " + (n === 1 ? noun[0] : noun[1]) + " ritad" +
          (n === 1 ? "" : "e") : "Inget ritat ännu.";
      }
      holder.classList.toggle("has-shape", n > 0);
    }

    if (input.value) {
      try {
        layersOf(JSON.parse(input.value)).forEach(function (layer) { group.addLayer(layer); });
      } catch (err) {
        input.value = "";
      }
      if (group.getLayers().length) {
        map.fitBounds(group.getBounds(), { maxZoom: 17, padding: [30, 30], animate: false });
      }
    }
    map.on(L.Draw.Event.CREATED, function () { window.setTimeout(sync, 0); });
    map.on(L.Draw.Event.EDITED, sync);
    map.on(L.Draw.Event.DELETED, sync);
    sync();
    holder.tkSync = sync;
  }

  localize();
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-draw-form]").forEach(setUp);
  });
})();
