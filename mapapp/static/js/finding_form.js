/* The phone form for a new finding: tap the map to place it, or use the device's
 * position, or the GPS position in the photo's EXIF (offered, never forced).
 *
 * Sets the hidden fields lat/lon (WGS 84, 6 decimals ≈ 10 cm) and shows the choice;
 * ``form.tkClearPlace()`` forgets it. Walk mode (walk_app.js) uses this file too.
 * Also shows the "new walk" fields when "Ny vandring …" is chosen.
 */
(function () {
  "use strict";

  var form = document.getElementById("finding-form");
  if (!form) { return; }
  var map = window[form.dataset.map];
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var text = document.getElementById("place-text");
  var marker = null;

  function place(latitude, longitude, how, pan) {
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    text.textContent = "Vald plats (" + how + "): " + lat.value + ", " + lon.value;
    if (!map) { return; }
    if (marker) {
      marker.setLatLng([latitude, longitude]);
    } else {
      marker = L.marker([latitude, longitude], { draggable: true, title: "Fyndets plats" }).addTo(map);
      marker.on("dragend", function () {
        var p = marker.getLatLng();
        place(p.lat, p.lng, "flyttad", false);
      });
    }
    if (pan) { map.setView([latitude, longitude], Math.max(map.getZoom(), 17)); }
  }

  /* Forget the chosen place (walk mode's "Spara och nytt fynd" starts a new one). */
  form.tkClearPlace = function (message) {
    lat.value = "";
    lon.value = "";
    if (marker && map) { map.removeLayer(marker); }
    marker = null;
    text.textContent = message || "Ingen plats vald än.";
  };

  if (map) {
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, "kartan", false); });
    if (lat.value && lon.value) {
      place(parseFloat(lat.value), parseFloat(lon.value), "tidigare", true);
    }
  }

  var positionButton = document.getElementById("use-position");
  if (positionButton) {
    if (!("geolocation" in navigator)) {
      positionButton.hidden = true;
    }
    positionButton.addEventListener("click", function () {
      text.textContent = "Hämtar din position …";
      navigator.geolocation.getCurrentPosition(function (pos) {
        place(pos.coords.latitude, pos.coords.longitude, "din position", true);
      }, function () {
        text.textContent = "Positionen kunde inte hämtas. Tryck på kartan i stället.";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  /* EXIF GPS of a JPEG: the APP1 "Exif" segment, IFD0's GPS pointer, degrees. */
  function exifGps(buffer) {
    var v = new DataView(buffer);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) { return null; }
    var off = 2;
    while (off + 4 <= v.byteLength) {
      var marker = v.getUint16(off);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return null; }
      var length = v.getUint16(off + 2);
      if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) {
        return tiffGps(v, off + 10);
      }
      off += 2 + length;
    }
    return null;
  }

  function tiffGps(v, start) {
    var little = v.getUint16(start) === 0x4949;
    function u16(o) { return v.getUint16(start + o, little); }
    function u32(o) { return v.getUint32(start + o, little); }
    var ifd = u32(4), gps = null, i;
    for (i = 0; i < u16(ifd); i++) {
      if (u16(ifd + 2 + i * 12) === 0x8825) { gps = u32(ifd + 2 + i * 12 + 8); }
    }
    if (gps === null) { return null; }
    var tags = {};
    for (i = 0; i < u16(gps); i++) {
      var e = gps + 2 + i * 12, tag = u16(e), type = u16(e + 2), count = u32(e + 4);
      if (tag === 1 || tag === 3) {
        tags[tag] = String.fromCharCode(v.getUint8(start + e + 8));
      } else if ((tag === 2 || tag === 4) && type === 5 && count === 3) {
        var p = u32(e + 8), deg = 0;
        for (var k = 0; k < 3; k++) {
          var den = u32(p + 8 * k + 4);
          deg += (den ? u32(p + 8 * k) / den : 0) / Math.pow(60, k);
        }
        tags[tag] = deg;
      }
    }
    if (tags[2] === undefined || tags[4] === undefined) { return null; }
    var la = tags[1] === "S" ? -tags[2] : tags[2];
    var lo = tags[3] === "W" ? -tags[4] : tags[4];
    if (la === 0 && lo === 0) { return null; }
    return [la, lo];
  }

  var photo = document.getElementById("photo");
  var photoButton = document.getElementById("use-photo-position");
  if (photo && photoButton && window.FileReader) {
    photo.addEventListener("change", function () {
      photoButton.hidden = true;
      var file = photo.files && photo.files[0];
      if (!file) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        var gps = null;
        try { gps = exifGps(reader.result); } catch (err) { gps = null; }
        if (!gps) { return; }
        photoButton.textContent = "Använd fotots position (" + gps[0].toFixed(5) + ", " +
          gps[1].toFixed(5) + ")";
        photoButton.hidden = false;
        photoButton.onclick = function () { place(gps[0], gps[1], "fotot", true); };
      };
      // the EXIF block is at the start of the file
      reader.readAsArrayBuffer(file.slice(0, 256 * 1024));
    });
  }

  document.querySelectorAll(".js-walk-select").forEach(function (select) {
    var fields = document.getElementById(select.dataset.newFields);
    function toggle() { if (fields) { fields.hidden = select.value !== "new"; } }
    select.addEventListener("change", toggle);
    toggle();
  });
})();
