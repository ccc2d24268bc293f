/*
 * Trygghetskartan: the popups of the city and district maps (map.js binds them).
 *
 * One function per layer (grid cell, incident point, finding, platssamverkan site,
 * priority place) that builds the popup's DOM from a GeoJSON feature of /api/...
 * Every text from the data is put in with textContent (never innerHTML), so a
 * finding described as "<img src=x onerror=...>" shows as those characters.
 *
 * window.tkPopups(cfg, filterParams): cfg is the map's configuration (the JSON in
 * #tk-map-config), filterParams() the filter in the form (the priority popup says
 * which filters its ranking does not use).
 */
window.tkPopups = function (cfg, filterParams) {
  "use strict";

  var el = window.tkDom.el;
  var add = window.tkDom.add;
  var fmt = window.tkDom.fmt;
  var capitalise = window.tkDom.capitalise;

  function cellPopup(feature, collection) {
    var p = feature.properties;
    var box = el("div", "tk-popup");
    add(box, "h3", "tk-popup-title", "Ruta " + collection.cell_size + " × " +
        collection.cell_size + " m");
    var line = add(box, "p", "tk-popup-count");
    add(line, "strong", null, fmt(p.count));
    line.appendChild(document.createTextNode(" händelser, " + collection.period_label));
    add(box, "p", "tk-popup-trend tk-trend-" + (p.trend || "none"), p.trend_text);
    add(box, "p", "tk-popup-strategic", "Varav strategiska brott: " + fmt(p.strategic));
    var codes = Object.keys(p.by_category);
    if (codes.length) {
      var table = add(box, "table", "tk-popup-table");
      add(table, "caption", null, "Per kategori");
      codes.slice(0, 8).forEach(function (code) {
        var row = add(table, "tr");
        add(row, "td", null, capitalise(collection.categories[code] || code));
        add(row, "td", "num", fmt(p.by_category[code]));
      });
      if (codes.length > 8) {
        add(box, "p", "tk-popup-more", "… och " + (codes.length - 8) + " kategorier till");
      }
    }
    if (collection.suppress_below) {
      add(box, "p", "tk-popup-note", "Antal under " + collection.suppress_below +
          " visas som ”<" + collection.suppress_below + "” för att skydda enskilda.");
    }
    return box;
  }

  function pointPopup(feature) {
    var p = feature.properties;
    var box = el("div", "tk-popup");
    add(box, "h3", "tk-popup-title", capitalise(p.category_label || p.category));
    var when = p.occurred_at ? new Date(p.occurred_at) : null;
    if (when) {
      add(box, "p", null, when.toLocaleString("sv-SE", { dateStyle: "medium", timeStyle: "short",
                                                         timeZone: "Europe/Stockholm" }));
    }
    if (p.stadsdel || p.sdo_name) {
      add(box, "p", null, [cfg.stadsdelNames[p.stadsdel] || p.stadsdel, p.sdo_name]
        .filter(Boolean).join(", "));
    }
    if (p.precision === "street") { add(box, "p", "tk-popup-note", "Läget är känt på gatunivå."); }
    if (p.strategic) { add(box, "p", "tk-popup-strategic", "Strategiskt brott"); }
    if (p.description) { add(box, "p", "tk-popup-text", p.description); }
    return box;
  }

  function findingPopup(feature) {
    var p = feature.properties;
    var box = el("div", "tk-popup tk-popup-finding");
    add(box, "h3", "tk-popup-title", "Fynd: " + capitalise(p.category_label || p.category));
    var status = cfg.findingStatuses[p.status] || { label: p.status || "okänd", colour: "#616161" };
    var badge = add(box, "span", "tk-badge", capitalise(status.label));
    badge.style.backgroundColor = status.colour;
    add(box, "span", "tk-severity", " Allvarlighet " + (p.severity || "–") + " av 3");
    if (p.description) { add(box, "p", "tk-popup-text", p.description); }
    var facts = add(box, "dl", "tk-facts");
    [["Hittat", p.found_at ? String(p.found_at).slice(0, 10) : null],
     ["Ansvarig", cfg.owners[p.owner] || p.owner],
     ["Plats", p.place ? p.place.text : null],
     ["Stadsdel", cfg.stadsdelNames[p.stadsdel] || p.stadsdel], ["Vandring", p.walk_id]]
      .forEach(function (pair) {
        if (!pair[1]) { return; }
        add(facts, "dt", null, pair[0]);
        add(facts, "dd", null, pair[1]);
      });
    return box;
  }

  function sitePopup(feature) {
    var p = feature.properties;
    var box = el("div", "tk-popup tk-popup-site");
    add(box, "h3", "tk-popup-title", p.name);
    add(box, "p", "tk-popup-note", "Platssamverkan" + (p.status_label ? ", " + p.status_label : "") +
        (p.start_date ? " sedan " + p.start_date : ""));
    var facts = add(box, "dl", "tk-facts");
    [["Parter", p.partners], ["Aktiviteter", p.activities], ["Kontakt", p.contact],
     ["Område", p.sdo_name]].forEach(function (pair) {
      if (!pair[1]) { return; }
      add(facts, "dt", null, pair[0]);
      add(facts, "dd", null, pair[1]);
    });
    if (p.site_before !== undefined) {
      // before/after the start, from mapapp/reading.py popup_extra (texts, small counts hidden)
      var table = add(box, "table", "tk-popup-table tk-site-figures");
      add(table, "caption", null, "Händelser före/efter start (" + p.window + ")");
      var head = add(add(table, "thead"), "tr");
      ["", "Före", "Efter", "Ändring"].forEach(function (t) { add(head, "th", null, t); });
      var body = add(table, "tbody");
      [["I platsen", p.site_before, p.site_after, p.site_change],
       ["Ring " + p.ring_m + " m", p.ring_before, p.ring_after, p.ring_change]
      ].forEach(function (cells) {
        var tr = add(body, "tr");
        add(tr, "th", null, cells[0]);
        cells.slice(1).forEach(function (t) { add(tr, "td", "num", t); });
      });
      if (p.window_note) { add(box, "p", "tk-popup-note", p.window_note); }
      if (p.restricted) { add(box, "p", "tk-popup-note", p.restricted); }
    }
    if (p.url) {
      var more = add(box, "a", "tk-popup-more", "Visa platsen");
      more.href = p.url;
    }
    return box;
  }

  function priorityLink(meta) {
    var params = new URLSearchParams();
    if (meta.sdn) { params.set("sdn", meta.sdn); }
    if (meta.period) { params.set("period", meta.period); }
    return cfg.priorityUrl + (params.toString() ? "?" + params.toString() : "");
  }

  function priorityPopup(feature, meta) {
    var p = feature.properties;
    var box = el("div", "tk-popup tk-popup-priority");
    add(box, "h3", "tk-popup-title", "Nr " + p.rank + ": " + p.name);
    var where = [p.stadsdel, p.sdo_name].filter(function (name, i, names) {
      return name && names.indexOf(name) === i;  // "Södermalm, Södermalm" once
    }).join(", ");
    if (where) { add(box, "p", "tk-popup-note", where); }
    // plain words in the popup; the statistics are on /priority, under "Statistik"
    add(box, "p", "tk-popup-text", p.first_sentence ?
        [p.first_sentence].concat(p.plain || []).join(" ") : p.text);
    var current = filterParams();
    var unused = ["kategori", "stadsdel"].filter(function (word, i) {
      return Boolean(current.get(["category", "stadsdel"][i]));
    });
    if (unused.length) {
      add(box, "p", "tk-popup-note tk-popup-unfiltered",
          "Rangordningen gäller alla händelser i " + (meta.area || "området") + ", " +
          (meta.period_label || "") + " – filtret för " + unused.join(" och ") +
          " används inte här.");
    }
    var more = add(box, "a", "tk-popup-more", "Hela rangordningen med motiveringar");
    more.href = priorityLink(meta);
    return box;
  }

  return { cell: cellPopup, point: pointPopup, finding: findingPopup, site: sitePopup,
           priority: priorityPopup };
};
