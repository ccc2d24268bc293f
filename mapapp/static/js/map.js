/*
 * Trygghetskartan: the city and district maps.
 *
 * Folium has built the map and its (empty) layer groups; this script fills them
 * from the JSON API for the filter in the form and the part of the map in view:
 * incidents as a grid of cells (or as clustered points at close zoom, for the
 * categories the user may see as points), findings, platssamverkan sites, the
 * priority places (the ranking of /api/priority, which takes only the area and the
 * period of the filter), the trend classes (ArcGIS's emerging hot spot patterns of
 * /api/emerging, off until turned on) and the district outlines. It draws the layer control and
 * the legend, and keeps the filter and the map position in the URL
 * (history.replaceState), so a filter change never moves the map and a reload or a
 * shared link restores the view. The popups are built in map_popups.js, the DOM
 * helpers it shares with them are in map_dom.js (both loaded before this script).
 *
 * Every text from the data is put in the page with textContent (never innerHTML),
 * so a finding described as "<img src=x onerror=...>" shows as those characters.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("tk-map-config").textContent);
  var map = window[cfg.map];
  var groups = {};
  Object.keys(cfg.groups).forEach(function (key) { groups[key] = window[cfg.groups[key]]; });
  var form = document.getElementById("tk-filter");
  var statusBox = document.getElementById("tk-status");
  var narrow = window.matchMedia("(max-width: 767.98px)").matches;

  var state = {
    pending: 0,          // requests under way
    moving: false,       // the map moved and its layers are about to reload
    loads: 0,            // answers drawn so far
    errors: [],
    readyAt: null,       // performance.now() when map, controls and outlines were drawn
    drawnAt: null,       // performance.now() of the last layer drawn
    drawn: {},           // layer -> performance.now() when it was last drawn
    incidents: null,     // {mode, total, features, cell, period}
    findings: null,      // {count}
    sites: null,         // {count}
    priority: null,      // {count, sdn, period, ranks}
    trend: null          // {patterns: {code: cells}, months, sdn}
  };
  window.tkMap = { map: map, state: state, config: cfg, reload: reloadAll };

  // --- small DOM helpers --------------------------------------------------------------

  var el = window.tkDom.el;
  var add = window.tkDom.add;
  var fmt = window.tkDom.fmt;
  var capitalise = window.tkDom.capitalise;
  var popups = window.tkPopups(cfg, filterParams);

  function showStatus(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("text-danger", Boolean(isError));
  }

  // --- the filter and the URL ---------------------------------------------------------

  function filterParams() {
    var data = new FormData(form);
    var params = new URLSearchParams();
    var period = data.get("period");
    var from = data.get("from");
    var to = data.get("to");
    if (!period && from && to) { period = from + ".." + to; }
    if (period) { params.set("period", period); }
    ["category", "sdn", "stadsdel", "status"].forEach(function (key) {
      var value = data.get(key);
      if (value) { params.set(key, value); }
    });
    return params;
  }

  function apiParams(keys) {
    var all = filterParams();
    var params = new URLSearchParams();
    keys.forEach(function (key) { if (all.get(key)) { params.set(key, all.get(key)); } });
    if (cfg.district) { params.set("sdn", cfg.district); }
    return params;
  }

  function updateUrl() {
    var params = filterParams();
    var centre = map.getCenter();
    params.set("zoom", String(map.getZoom()));
    params.set("lat", centre.lat.toFixed(5));
    params.set("lon", centre.lng.toFixed(5));
    ["zoom", "lat", "lon"].forEach(function (key) {
      var input = document.getElementById("f-" + key);
      if (input) { input.value = params.get(key); }
    });
    history.replaceState(null, "", window.location.pathname + "?" + params.toString());
    var carried = filterParams();
    carried.delete("sdn");
    carried.delete("stadsdel");
    document.querySelectorAll("a[data-district]").forEach(function (link) {
      link.href = cfg.districtUrl.replace("CODE", link.dataset.district) +
        (carried.toString() ? "?" + carried.toString() : "");
    });
  }

  function expandCategories(text) {
    if (!text) { return Object.keys(cfg.categoryLabels); }
    var codes = [];
    text.split(",").forEach(function (token) {
      var members = token === "strategiska" ? cfg.strategicCategories
        : cfg.categoryGroups[token] || [token];
      members.forEach(function (code) { if (codes.indexOf(code) < 0) { codes.push(code); } });
    });
    return codes;
  }

  function pointCategories() {
    return expandCategories(filterParams().get("category")).filter(function (code) {
      return cfg.pointCategories.indexOf(code) >= 0;
    });
  }

  function hiddenPointCategories() {
    return expandCategories(filterParams().get("category")).filter(function (code) {
      return cfg.pointCategories.indexOf(code) < 0;
    });
  }

  function cellSize(zoom) {
    var size = cfg.cellSizes[0][1];
    cfg.cellSizes.forEach(function (pair) { if (zoom >= pair[0]) { size = pair[1]; } });
    return size;
  }

  function viewBbox() {
    var b = map.getBounds().pad(0.15);
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return v.toFixed(5);
    }).join(",");
  }

  // --- fetching -----------------------------------------------------------------------

  var controllers = {};

  function fetchJson(key, url) {
    if (controllers[key]) { controllers[key].abort(); }
    var controller = new AbortController();
    controllers[key] = controller;
    state.pending += 1;
    return fetch(url, { signal: controller.signal, credentials: "same-origin",
                        headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            var error = new Error(body && body.error ? body.error : response.statusText);
            error.status = response.status;
            throw error;
          }
          return body;
        });
      })
      .finally(function () {
        state.pending -= 1;
        if (controllers[key] === controller) { delete controllers[key]; }
      });
  }

  function failed(what) {
    return function (error) {
      if (error && error.name === "AbortError") { return; }
      state.errors.push(what + ": " + error.message);
      showStatus("Kunde inte hämta " + what + ": " + error.message, true);
    };
  }

  // --- incidents: grid or points ------------------------------------------------------

  function loadIncidents() {
    if (!map.hasLayer(groups.incidents)) { return; }
    var zoom = map.getZoom();
    var categories = pointCategories();
    var params = apiParams(["period", "category", "sdn", "stadsdel"]);
    params.set("bbox", viewBbox());
    if (zoom >= cfg.pointZoom && categories.length > 0) {
      if (categories.length < Object.keys(cfg.categoryLabels).length) {
        params.set("category", categories.join(","));
      } else {
        params.delete("category");
      }
      params.set("limit", String(cfg.pointLimit));
      fetchJson("incidents", cfg.api.incidents + "?" + params.toString())
        .then(drawPoints).catch(failed("händelser"));
    } else {
      params.set("cell", String(cellSize(zoom)));
      fetchJson("incidents", cfg.api.grid + "?" + params.toString())
        .then(drawGrid).catch(failed("händelser"));
    }
  }

  function drawGrid(collection) {
    var colours = {};
    collection.legend.forEach(function (entry) { colours[entry.class] = entry.colour; });
    var layer = L.geoJSON(collection, {
      style: function (feature) {
        return { color: "#6d0019", weight: 0.4, opacity: 0.5, fillOpacity: 0.62,
                 fillColor: colours[feature.properties.class] || "#cccccc" };
      },
      onEachFeature: function (feature, cell) {
        cell.bindPopup(function () { return popups.cell(feature, collection); },
                       { maxWidth: 300 });
      }
    });
    groups.incidents.clearLayers();
    groups.incidents.addLayer(layer);
    state.incidents = { mode: "grid", total: collection.total, features: collection.features.length,
                        cell: collection.cell_size, period: collection.period };
    state.loads += 1;
    state.drawnAt = state.drawn.incidents = performance.now();
    legend.incidents(collection);
    document.getElementById("tk-period-label").textContent = collection.period_label;
    showStatus("Händelser " + collection.period_label + ": " + fmt(collection.total) +
               " i kartbilden, i rutor om " + collection.cell_size + " m.");
  }

  function drawPoints(collection) {
    var cluster = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 45, chunkedLoading: true,
      iconCreateFunction: function (group) {
        var count = group.getChildCount();
        var size = count < 10 ? 28 : count < 100 ? 34 : 40;
        var badge = el("span", "tk-incident-cluster", fmt(count));
        badge.title = count + " händelser";
        return L.divIcon({ html: badge, className: "tk-cluster-icon", iconSize: [size, size] });
      }
    });
    var drawn = 0;
    collection.features.forEach(function (feature) {
      // a place known only to the stadsdel or the municipality is never a point
      if (!feature.geometry || cfg.pointPrecisions.indexOf(feature.properties.precision) < 0) {
        return;
      }
      drawn += 1;
      var c = feature.geometry.coordinates;
      var marker = L.circleMarker([c[1], c[0]], {
        radius: 6, color: "#ffffff", weight: 1.5, fillOpacity: 0.9,
        fillColor: cfg.groupColours[feature.properties.category] || "#455a64"
      });
      marker.bindPopup(function () { return popups.point(feature); }, { maxWidth: 300 });
      cluster.addLayer(marker);
    });
    groups.incidents.clearLayers();
    groups.incidents.addLayer(cluster);
    state.incidents = { mode: "points", total: drawn,
                        features: drawn, more: Boolean(collection.next),
                        period: collection.period };
    state.loads += 1;
    state.drawnAt = state.drawn.incidents = performance.now();
    legend.points(collection, drawn);
    if (collection.period_label) {
      document.getElementById("tk-period-label").textContent = collection.period_label;
    }
    showStatus("Händelser " + (collection.period_label || "") + ": " +
               fmt(drawn) + (collection.next ? " (de första)" : "") +
               " som punkter i kartbilden.");
  }

  // --- findings -----------------------------------------------------------------------

  var findingCluster = null;

  function loadFindings() {
    if (!map.hasLayer(groups.findings)) { return; }
    var params = apiParams(["period", "status", "sdn", "stadsdel"]);
    params.set("limit", "10000");
    fetchJson("findings", cfg.api.findings + "?" + params.toString())
      .then(drawFindings).catch(failed("fynd"));
  }

  function drawFindings(collection) {
    findingCluster = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 35, disableClusteringAtZoom: 15,
      iconCreateFunction: function (cluster) {
        var badge = el("span", "tk-finding-cluster", fmt(cluster.getChildCount()));
        badge.title = cluster.getChildCount() + " fynd";
        return L.divIcon({ html: badge, className: "tk-finding-icon", iconSize: [30, 30] });
      }
    });
    collection.features.forEach(function (feature) {
      if (!feature.geometry) { return; }
      var layer = L.geoJSON(feature, {
        pointToLayer: function (f, latlng) {
          return L.marker(latlng, { icon: findingIcon(f.properties),
                                    title: findingTitle(f.properties),
                                    alt: findingTitle(f.properties) });
        },
        style: function (f) {
          var status = cfg.findingStatuses[f.properties.status] || {};
          return { color: status.colour || "#616161", weight: 4 };
        },
        // bound on each marker: the cluster group becomes the markers' parent
        onEachFeature: function (f, shape) {
          shape.bindPopup(function () { return popups.finding(f); }, { maxWidth: 300 });
        }
      });
      findingCluster.addLayer(layer);
    });
    groups.findings.clearLayers();
    groups.findings.addLayer(findingCluster);
    state.findings = { count: collection.features.length };
    state.loads += 1;
    state.drawnAt = state.drawn.findings = performance.now();
  }

  function findingTitle(p) {
    var category = cfg.findingCategories[p.category] || { label: p.category };
    var status = cfg.findingStatuses[p.status] || { label: p.status || "okänd status" };
    return capitalise(category.label) + " (" + status.label + ")";
  }

  function findingIcon(p) {
    var category = cfg.findingCategories[p.category] || { icon: "circle-info" };
    var status = cfg.findingStatuses[p.status] || { colour: "#616161" };
    var badge = el("span", "tk-finding tk-finding-" + (p.status || "okand"));
    badge.style.backgroundColor = status.colour;
    var icon = add(badge, "i", "fa-solid fa-" + category.icon);
    icon.setAttribute("aria-hidden", "true");
    return L.divIcon({ html: badge, className: "tk-finding-icon", iconSize: [28, 28],
                       iconAnchor: [14, 14], popupAnchor: [0, -12] });
  }

  // --- platssamverkan sites -----------------------------------------------------------

  function loadSites() {
    if (!map.hasLayer(groups.sites)) { return; }
    var params = apiParams(["sdn"]);
    params.set("limit", "10000");
    fetchJson("sites", cfg.api.sites + "?" + params.toString())
      .then(drawSites).catch(failed("platssamverkan"));
  }

  function drawSites(collection) {
    var layer = L.geoJSON(collection, {
      pane: "tk-sites", renderer: renderers.sites,
      style: function (feature) {
        var active = feature.properties.status === "aktiv";
        return { color: "#1f4e9c", weight: 3, dashArray: active ? null : "6 4",
                 fillColor: "#4f83d1", fillOpacity: 0.25 };
      },
      onEachFeature: function (feature, shape) {
        shape.bindPopup(function () { return popups.site(feature); }, { maxWidth: 300 });
        shape.bindTooltip(el("span", null, "Platssamverkan: " + feature.properties.name),
                          { sticky: true });
      }
    });
    groups.sites.clearLayers();
    groups.sites.addLayer(layer);
    state.sites = { count: collection.features.length };
    state.loads += 1;
    state.drawnAt = state.drawn.sites = performance.now();
  }

  // --- priority places ----------------------------------------------------------------

  var priorityKey = null;  // the query of the ranking drawn

  function loadPriority() {
    if (!map.hasLayer(groups.priority)) { return; }
    // the ranking takes the area and the period only: other filters change nothing
    var params = apiParams(["sdn", "period"]);
    var key = params.toString();
    if (key === priorityKey) { return; }
    params.set("format", "geojson");
    fetchJson("priority", cfg.api.priority + "?" + params.toString())
      .then(function (collection) {
        priorityKey = key;
        drawPriority(collection);
      })
      .catch(failed("prioriterade platser"));
  }

  function rankColour(rank) {
    for (var i = 0; i < cfg.priorityColours.length; i += 1) {
      if (rank <= cfg.priorityColours[i][0]) { return cfg.priorityColours[i][1]; }
    }
    return cfg.priorityColours[cfg.priorityColours.length - 1][1];
  }

  function drawPriority(collection) {
    var meta = collection.metadata || {};
    var layer = L.featureGroup();
    collection.features.forEach(function (feature) {
      var p = feature.properties;
      var colour = rankColour(p.rank);
      var title = p.rank + ". " + p.name;
      // a white halo under the outline keeps it apart from the red grid cells
      layer.addLayer(L.geoJSON(feature, {
        pane: "tk-priority", renderer: renderers.priority, interactive: false,
        style: { color: "#ffffff", weight: 6, opacity: 0.85, fill: false }
      }));
      // outline only: the grid cells inside stay clickable
      var outline = L.geoJSON(feature, {
        pane: "tk-priority", renderer: renderers.priority,
        style: { color: colour, weight: 3, opacity: 1, fill: false }
      });
      outline.bindPopup(function () { return popups.priority(feature, meta); }, { maxWidth: 320 });
      outline.bindTooltip(el("span", null, title), { sticky: true });
      layer.addLayer(outline);
      var badge = el("span", "tk-priority-rank", p.rank);
      badge.style.borderColor = colour;
      badge.dataset.rank = String(p.rank);
      // on the top edge of the place: the badge leaves its busiest cells in view
      var marker = L.marker([p.bounds[1][0], p.center[1]], {
        icon: L.divIcon({ html: badge, className: "tk-priority-icon", iconSize: [24, 24],
                          iconAnchor: [12, 12], popupAnchor: [0, -10] }),
        title: title, alt: title, pane: "tk-priority-labels",
        // the better rank on top where badges overlap
        zIndexOffset: (1000 - Math.min(p.rank, 999)) * 10000
      });
      marker.bindPopup(function () { return popups.priority(feature, meta); }, { maxWidth: 320 });
      layer.addLayer(marker);
    });
    groups.priority.clearLayers();
    groups.priority.addLayer(layer);
    state.priority = { count: collection.features.length, sdn: meta.sdn || null,
                       period: meta.period, ranks: collection.features.map(function (f) {
                         return f.properties.rank; }) };
    state.loads += 1;
    state.drawnAt = state.drawn.priority = performance.now();
    legend.priority(collection);
  }

  // --- trend classes (emerging hot spots) ---------------------------------------------

  var trendKey = null;  // the query of the patterns drawn

  function loadTrend() {
    if (!map.hasLayer(groups.trend)) { return; }
    // like the ranking, the patterns take the area and the period only
    var params = apiParams(["sdn", "period"]);
    var key = params.toString();
    if (key === trendKey) { return; }
    fetchJson("trend", cfg.api.emerging + (key ? "?" + key : ""))
      .then(function (collection) {
        trendKey = key;
        drawTrend(collection);
      })
      .catch(failed("trendklasser"));
  }

  function drawTrend(collection) {
    var meta = collection.metadata || {};
    var layer = L.geoJSON(collection, {
      style: function (feature) {
        // a dark outline keeps the classes apart from the incident grid's reds below
        return { color: "#1a1a1a", weight: 1.5, opacity: 0.9,
                 fillColor: feature.properties.colour, fillOpacity: 0.75 };
      },
      onEachFeature: function (feature, path) {
        path.bindTooltip(el("span", null, feature.properties.label), { sticky: true });
      }
    });
    groups.trend.clearLayers();
    groups.trend.addLayer(layer);
    var patterns = {};
    collection.features.forEach(function (f) {
      patterns[f.properties.pattern] = f.properties.cells;
    });
    state.trend = { patterns: patterns, months: meta.months, sdn: meta.sdn || null };
    state.loads += 1;
    state.drawnAt = state.drawn.trend = performance.now();
    legend.trend(collection);
  }

  // --- district outlines and labels ---------------------------------------------------

  function label(latlon, text, className, href) {
    var holder = el("span", "tk-label-text");
    if (href) {
      var link = add(holder, "a", null, text);
      link.href = href;
    } else {
      holder.textContent = text;
    }
    return L.marker(latlon, {
      icon: L.divIcon({ html: holder, className: "tk-label " + className, iconSize: null }),
      interactive: false, keyboard: false, pane: "tk-labels"
    });
  }

  function drawOutlines() {
    if (cfg.land) {
      // under the basemap: only seen when the tiles cannot be fetched
      L.geoJSON(cfg.land, { pane: "tk-land", interactive: false,
                            style: { stroke: false, fillColor: "#fbfaf7", fillOpacity: 1 } })
        .addTo(map);
    }
    groups.omraden.addLayer(L.geoJSON(cfg.outlines.omraden, {
      pane: "tk-outlines", interactive: false,
      style: { color: "#0b3d6b", weight: 2.5, opacity: 0.9, fill: false }
    }));
    groups.stadsdelar.addLayer(L.geoJSON(cfg.outlines.stadsdelar, {
      pane: "tk-outlines-sd", interactive: false,
      style: { color: "#37474f", weight: 1, opacity: 0.7, dashArray: "4 3", fill: false }
    }));
    cfg.outlines.omraden.features.forEach(function (f) {
      var p = f.properties;
      var href = cfg.district ? null : cfg.districtUrl.replace("CODE", p.code);
      var marker = label(p.label, p.name, "tk-label-sdo", href);
      if (href) {
        marker.on("add", function () {
          var link = marker.getElement().querySelector("a");
          if (link) { link.dataset.district = p.code; }
        });
      }
      groups.omraden.addLayer(marker);
    });
    cfg.outlines.stadsdelar.features.forEach(function (f) {
      groups.stadsdelar.addLayer(label(f.properties.label, f.properties.name, "tk-label-sd"));
    });
  }

  function zoomClasses() {
    var zoom = map.getZoom();
    var box = map.getContainer();
    box.classList.toggle("tk-zoom-far", zoom < cfg.stadsdelLabelZoom);
    box.classList.toggle("tk-zoom-near", zoom >= cfg.stadsdelLabelZoom);
    map.getPane("tk-outlines-sd").style.display = zoom < cfg.stadsdelOutlineZoom ? "none" : "";
  }

  // --- legend -------------------------------------------------------------------------

  var legend = (function () {
    var control = L.control({ position: "bottomleft" });
    var root, incidentsBox, priorityBox, trendBox;
    control.onAdd = function () {
      root = el("div", "tk-legend leaflet-bar");
      root.id = "tk-legend";
      var details = add(root, "details");
      details.open = !narrow;
      add(details, "summary", null, "Teckenförklaring");
      incidentsBox = add(details, "div", "tk-legend-incidents");
      var findings = add(details, "div", "tk-legend-section");
      add(findings, "div", "tk-legend-title", "Fynd (status)");
      cfg.findingStatusOrder.forEach(function (code) {
        var row = add(findings, "div", "tk-legend-row");
        add(row, "span", "tk-dot").style.backgroundColor = cfg.findingStatuses[code].colour;
        row.appendChild(document.createTextNode(capitalise(cfg.findingStatuses[code].label)));
      });
      priorityBox = add(details, "div", "tk-legend-section tk-legend-priority");
      trendBox = add(details, "div", "tk-legend-section tk-legend-trend");
      trendBox.hidden = true;
      var sites = add(details, "div", "tk-legend-section tk-legend-row");
      add(sites, "span", "tk-swatch tk-swatch-site");
      sites.appendChild(document.createTextNode("Platssamverkan"));
      L.DomEvent.disableClickPropagation(root);
      L.DomEvent.disableScrollPropagation(root);
      return root;
    };
    control.addTo(map);

    function heading(text) {
      incidentsBox.textContent = "";
      add(incidentsBox, "div", "tk-legend-title", text);
    }

    return {
      incidents: function (collection) {
        heading("Händelser per ruta, " + collection.period_label);
        collection.legend.forEach(function (entry) {
          var row = add(incidentsBox, "div", "tk-legend-row");
          add(row, "span", "tk-swatch").style.backgroundColor = entry.colour;
          row.appendChild(document.createTextNode(entry.label));
        });
        add(incidentsBox, "div", "tk-legend-total", "I kartbilden: " + fmt(collection.total) +
            " (" + collection.previous_period_label + ": " + fmt(collection.total_previous) + ")");
        add(incidentsBox, "div", "tk-legend-note", "Rutor om " + collection.cell_size + " m");
        if (collection.restricted) {
          add(incidentsBox, "div", "tk-legend-note tk-legend-restricted", collection.restricted);
        }
        root.dataset.total = String(collection.total);
        root.dataset.mode = "grid";
      },
      points: function (collection, drawn) {
        heading("Händelser som punkter" + (collection.period_label ? ", " +
                collection.period_label : ""));
        add(incidentsBox, "div", "tk-legend-total", "I kartbilden: " +
            fmt(drawn) + (collection.next ? " (de första)" : ""));
        var hidden = hiddenPointCategories();
        if (hidden.length) {
          add(incidentsBox, "div", "tk-legend-note", hidden.map(function (code) {
            return capitalise(cfg.categoryLabels[code]);
          }).join(", ") + " visas inte som punkter – zooma ut för rutnätet.");
        }
        root.dataset.total = String(drawn);
        root.dataset.mode = "points";
      },
      priority: function (collection) {
        var meta = collection.metadata || {};
        var count = collection.features.length;
        priorityBox.textContent = "";
        priorityBox.dataset.count = String(count);
        add(priorityBox, "div", "tk-legend-title", "Prioriterade platser (nummer = rang)");
        var first = 1;
        cfg.priorityColours.forEach(function (pair) {
          var last = Math.min(pair[0], count);
          if (first <= last) {
            var row = add(priorityBox, "div", "tk-legend-row");
            add(row, "span", "tk-swatch tk-swatch-priority").style.borderColor = pair[1];
            row.appendChild(document.createTextNode(
              first === last ? "Nr " + first : "Nr " + first + "–" + last));
          }
          first = pair[0] + 1;
        });
        add(priorityBox, "div", "tk-legend-note", count ?
            (meta.area || "") + ", " + (meta.period_label || "") :
            meta.message || "Inga prioriterade platser för perioden.");
      },
      trend: function (collection) {
        var meta = collection.metadata || {};
        var shown = meta.cells || {};
        trendBox.textContent = "";
        trendBox.hidden = false;
        add(trendBox, "div", "tk-legend-title", "Trendklass, " + (meta.months || 0) + " månader");
        cfg.trendPatterns.forEach(function (pattern) {
          if (!shown[pattern.code]) { return; }
          var row = add(trendBox, "div", "tk-legend-row");
          row.dataset.pattern = pattern.code;
          add(row, "span", "tk-swatch").style.backgroundColor = pattern.colour;
          row.appendChild(document.createTextNode(pattern.label));
        });
        add(trendBox, "div", "tk-legend-note", meta.message ||
            ((meta.period_label || "") + (Object.keys(shown).length ? "" :
              " – inga rutor med mönster")));
      },
      hideTrend: function () { trendBox.hidden = true; }
    };
  }());

  // --- layer control ------------------------------------------------------------------

  function layerControl() {
    var base = {};
    if (cfg.tileLayer && window[cfg.tileLayer]) { base.Bakgrundskarta = window[cfg.tileLayer]; }
    var overlays = {};
    ["incidents", "trend", "priority", "findings", "sites", "omraden", "stadsdelar"]
      .forEach(function (key) { overlays[cfg.groupLabels[key]] = groups[key]; });
    var control = L.control.layers(base, overlays, { collapsed: narrow, position: "topright" });
    control.addTo(map);
    var toggle = control.getContainer().querySelector(".leaflet-control-layers-toggle");
    if (toggle) {
      toggle.title = "Välj lager";
      toggle.setAttribute("aria-label", "Välj lager");
    }
    control.getContainer().setAttribute("aria-label", "Lager");
    map.on("overlayadd", function (event) {
      if (event.layer === groups.incidents) { loadIncidents(); }
      if (event.layer === groups.findings) { loadFindings(); }
      if (event.layer === groups.sites) { loadSites(); }
      if (event.layer === groups.priority) { loadPriority(); }
      if (event.layer === groups.trend) { loadTrend(); }
    });
    map.on("overlayremove", function (event) {
      if (event.layer === groups.trend) { legend.hideTrend(); }
    });
    return control;
  }

  function swedishControls() {
    var zoomIn = map.getContainer().querySelector(".leaflet-control-zoom-in");
    var zoomOut = map.getContainer().querySelector(".leaflet-control-zoom-out");
    if (zoomIn) { zoomIn.title = "Zooma in"; zoomIn.setAttribute("aria-label", "Zooma in"); }
    if (zoomOut) { zoomOut.title = "Zooma ut"; zoomOut.setAttribute("aria-label", "Zooma ut"); }
    map.on("popupopen", function (event) {
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) { close.title = "Stäng"; close.setAttribute("aria-label", "Stäng"); }
    });
  }

  // --- wiring -------------------------------------------------------------------------

  function reloadAll(withFigures) {
    loadIncidents();
    loadFindings();
    loadSites();
    loadPriority();
    loadTrend();
    if (withFigures !== false) { reloadFigures(); }
  }

  var figuresRequest = 0;

  function reloadFigures() {
    var box = document.getElementById("tk-figures");
    if (!box || !cfg.figuresUrl) { return; }
    // only the newest answer may replace the panel: quick filter changes abort the
    // older requests, and an answer that arrives after a newer request is dropped
    if (controllers.figures) { controllers.figures.abort(); }
    var controller = new AbortController();
    controllers.figures = controller;
    var ticket = ++figuresRequest;
    state.pending += 1;
    fetch(cfg.figuresUrl + "?" + filterParams().toString(),
          { credentials: "same-origin", signal: controller.signal })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== figuresRequest) { return; }
        // the fragment is rendered by the server with Jinja's autoescaping
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var fresh = holder.content.getElementById("tk-figures");
        if (fresh) {
          fresh.dataset.filter = filterParams().toString();
          document.getElementById("tk-figures").replaceWith(fresh);
        }
      })
      .catch(failed("nyckeltal"))
      .finally(function () {
        state.pending -= 1;
        if (controllers.figures === controller) { delete controllers.figures; }
      });
  }

  // Choosing a stadsdelsområde opens its page (zoomed to it, with its heading and key
  // figures), and "Hela staden" the city map: the same as following a district link.
  function openDistrict(code) {
    var params = filterParams();
    params.delete("sdn");
    params.delete("stadsdel");
    var base = code ? cfg.districtUrl.replace("CODE", encodeURIComponent(code)) : cfg.cityUrl;
    window.location.assign(base + (params.toString() ? "?" + params.toString() : ""));
  }

  function datesVisible() {
    var dates = document.getElementById("f-dates");
    var custom = form.elements.period.value === "";
    dates.hidden = !custom;
    return custom;
  }

  function applyFilter() {
    var custom = datesVisible();
    if (custom && !(form.elements.from.value && form.elements.to.value)) {
      showStatus("Välj både från- och till-datum.");
      return;
    }
    updateUrl();
    reloadAll();
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "sdn") {
      if ((event.target.value || null) !== (cfg.district || null)) {
        openDistrict(event.target.value);
      }
      return;
    }
    if (["period", "from", "to"].indexOf(event.target.name) >= 0) {
      // the sentence on why the default period is shown no longer applies
      var reason = document.getElementById("tk-period-reason");
      if (reason) { reason.hidden = true; }
    }
    if (event.target.name === "period" && event.target.value === "") {
      datesVisible();
      if (!(form.elements.from.value && form.elements.to.value)) {
        form.elements.from.focus();
        return;
      }
    }
    applyFilter();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    applyFilter();
  });

  var panel = document.querySelector(".tk-panel");
  var toggle = document.getElementById("tk-panel-toggle");
  toggle.addEventListener("click", function () {
    var open = !panel.classList.contains("tk-open");
    panel.classList.toggle("tk-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    map.invalidateSize();
  });

  // panes, bottom to top: land (under the tiles), outlines, sites, priority places,
  // labels (over markers), the priority places' rank badges. The map draws on canvas
  // (prefer_canvas), and a canvas covers its whole pane and takes every click on it,
  // so the sites and priority panes draw in SVG instead and let clicks through: only
  // their interactive paths (.leaflet-interactive, pointer-events auto) take events
  // and a click beside them reaches the grid cells below.
  [["tk-land", 150, true], ["tk-outlines-sd", 410, true], ["tk-outlines", 420, true],
   ["tk-sites", 430, true], ["tk-priority", 435, true], ["tk-labels", 620, true],
   ["tk-priority-labels", 630, false]].forEach(function (spec) {
    var pane = map.createPane(spec[0]);
    pane.style.zIndex = String(spec[1]);
    if (spec[2]) { pane.style.pointerEvents = "none"; }
  });
  var renderers = { sites: L.svg({ pane: "tk-sites" }),
                    priority: L.svg({ pane: "tk-priority" }) };

  if (!cfg.view) { map.fitBounds(cfg.bounds, { animate: false }); }

  var moveTimer = null;
  map.on("moveend", function () {
    zoomClasses();
    clearTimeout(moveTimer);
    state.moving = true;
    moveTimer = setTimeout(function () {
      state.moving = false;
      updateUrl();
      loadIncidents();
    }, 200);
  });

  if (narrow) { map.attributionControl.setPrefix(false); }
  datesVisible();
  swedishControls();
  layerControl();
  drawOutlines();
  zoomClasses();
  updateUrl();
  reloadAll(false);
  state.readyAt = performance.now();  // map, controls and outlines drawn (for bench/map.py)
}());
