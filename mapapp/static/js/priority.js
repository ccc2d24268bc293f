/* /priority: a click (or Enter/Space) on a ranked place zooms the map to it. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("tk-priority-config").textContent);

  function leafletMap() {
    return window[config.map];
  }

  function zoomTo(row) {
    var map = leafletMap();
    if (!map) { return; }
    var bounds = JSON.parse(row.getAttribute("data-bounds"));
    map.fitBounds(bounds, { maxZoom: config.maxZoom, padding: [24, 24], animate: false });
    document.querySelectorAll(".tk-place[aria-current]").forEach(function (other) {
      other.removeAttribute("aria-current");
    });
    row.setAttribute("aria-current", "true");
  }

  document.querySelectorAll(".tk-place").forEach(function (row) {
    row.addEventListener("click", function () { zoomTo(row); });
  });
}());
