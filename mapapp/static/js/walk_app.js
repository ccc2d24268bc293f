/* Walk mode (/walk): record findings on a walk with or without a connection.
 *
 * Everything the walker records goes first into the phone's IndexedDB ("tk-walk"):
 * the walk (store "walks") and each finding with its photo as a Blob (store
 * "findings"), each with an id made here (a UUID). A sync sends what waits, walks
 * before findings, with the session cookie and a fresh CSRF token (X-CSRFToken,
 * asked for at /walk/csrf); the server stores a client id once, so a retry never
 * stores a finding twice. Syncs run when the page opens, after each save, on the
 * "online" event and on a timer that backs off (5 s, 10 s, 20 s … 5 min) while the
 * server cannot be reached. Signed out (401): the queue stays and the page asks the
 * walker to log in again. Nothing is ever deleted from the queue unsent; a sent
 * finding keeps its row (when it was sent) and loses only its photo.
 *
 * The map is created here (window.tkWalkMap) before finding_form.js (tap to place,
 * the device's or the photo's position) and place_map.js (the stadsdelar, so the map
 * reads when tiles cannot load) use it. The service worker (/sw.js) is registered here.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("walk-data").textContent);
  var ACTIVE_KEY = "tk-walk-active:" + data.user;
  var el = function (id) { return document.getElementById(id); };

  /* --- the map ------------------------------------------------------------------- */

  var map = L.map("finding-map", { zoomControl: true }).setView([59.33, 18.06], 12);
  window.tkWalkMap = map;
  if (data.tile_url) {
    L.tileLayer(data.tile_url, { maxZoom: 19, attribution: data.tile_attribution }).addTo(map);
  }
  // tapping, "Använd min position" and the photo's GPS: finding_form.js (loaded next)
  function chosenPlace() {
    var lat = el("lat").value, lon = el("lon").value;
    return lat && lon ? { lat: lat, lon: lon } : null;
  }

  /* --- IndexedDB ----------------------------------------------------------------- */

  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("tk-walk", 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore("walks", { keyPath: "client_id" });
      open.result.createObjectStore("findings", { keyPath: "client_id" });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  function tx(store, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { resolve(result && result.result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function put(store, item) { return tx(store, "readwrite", function (s) { return s.put(item); }); }
  function all(store) {
    return tx(store, "readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).filter(function (i) { return i.user === data.user; })
        .sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); })
      .join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localStamp(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function clock(iso) { return iso ? localStamp(new Date(iso)).slice(11) : ""; }

  /* --- the walk ------------------------------------------------------------------ */

  function activeWalk() {
    try { return JSON.parse(localStorage.getItem(ACTIVE_KEY) || "null"); } catch (e) { return null; }
  }

  function walkLabel(walk) {
    var total = 0;
    Object.keys(walk.participants).forEach(function (g) { total += walk.participants[g]; });
    return walk.date + " " + walk.area + (total ? " (" + Object.keys(walk.participants)
      .map(function (g) { return data.groups[g] + " " + walk.participants[g]; }).join(", ") + ")" : "");
  }

  function showWalk() {
    var walk = activeWalk();
    el("walk-start").hidden = !!walk;
    el("walk-active").hidden = !walk;
    if (walk) {
      el("walk-label").textContent = walkLabel(walk);
      map.invalidateSize();
    } else {
      var now = new Date();
      el("walk-date").value = localStamp(now).slice(0, 10);
      el("walk-start-time").value = localStamp(now).slice(11);
    }
  }

  el("walk-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var area = el("walk-area").value.trim();
    var date = el("walk-date").value;
    if (!date || !area) {
      el("walk-error").textContent = "Ange datum och område för vandringen.";
      return;
    }
    var participants = {};
    var bad = false;
    document.querySelectorAll(".js-walk-group").forEach(function (input) {
      if (input.value === "") { return; }
      var n = Number(input.value);
      if (!(n >= 0 && n <= 10000 && Math.floor(n) === n)) { bad = true; return; }
      participants[input.dataset.group] = n;
    });
    if (bad) {
      el("walk-error").textContent = "Antal deltagare ska vara heltal mellan 0 och 10000.";
      return;
    }
    var walk = { client_id: uuid(), user: data.user, seq: Date.now(), date: date,
                 start_time: el("walk-start-time").value, area: area,
                 organisers: el("walk-organisers").value.trim(), participants: participants,
                 queued_at: new Date().toISOString(), sent_at: null, error: null };
    put("walks", walk).then(function () {
      localStorage.setItem(ACTIVE_KEY, JSON.stringify(walk));
      el("walk-error").textContent = "";
      showWalk();
      render();
      sync();
    });
  });

  el("end-walk").addEventListener("click", function () {
    if (!window.confirm("Avsluta vandringen? Fynd som väntar skickas ändå.")) { return; }
    localStorage.removeItem(ACTIVE_KEY);
    showWalk();
  });

  /* --- a finding ----------------------------------------------------------------- */

  var saved = 0;
  el("finding-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var walk = activeWalk();
    var category = el("category").value;
    var severity = document.querySelector("input[name=severity]:checked");
    var problems = [];
    var chosen = chosenPlace();
    if (!chosen) { problems.push("Tryck på kartan där fyndet finns."); }
    if (!category) { problems.push("Välj en kategori."); }
    if (!severity) { problems.push("Välj allvarlighet."); }
    if (problems.length) {
      el("finding-error").textContent = problems.join(" ");
      return;
    }
    var file = el("photo").files && el("photo").files[0];
    var finding = {
      client_id: uuid(), user: data.user, seq: Date.now() + Math.random(),
      walk_client_id: walk ? walk.client_id : "", found_at: localStamp(new Date()),
      category: category, severity: severity.value, description: el("description").value,
      owner: el("owner").value, lat: chosen.lat, lon: chosen.lon,
      photo: file || null, photo_type: file ? file.type : "", photo_name: file ? file.name : "",
      has_photo: !!file, queued_at: new Date().toISOString(), sent_at: null, error: null
    };
    put("findings", finding).then(function () {
      saved += 1;
      // a new finding: the walk, the map's view and the category list stay
      el("description").value = "";
      el("photo").value = "";
      el("owner").value = "";
      el("finding-error").textContent = "";
      el("finding-form").tkClearPlace(
        "Ingen plats vald än. Tryck på kartan där nästa fynd finns.");
      var message = el("saved-message");
      message.textContent = "Fyndet sparades på telefonen (" + data.categories[category] +
        ", " + finding.found_at.slice(11) + "). " + (navigator.onLine
        ? "Det skickas nu." : "Det skickas när telefonen har uppkoppling igen.") +
        " Registrera nästa fynd.";
      message.hidden = false;
      message.scrollIntoView({ block: "nearest" });
      render();
      sync();
    }, function () {
      el("finding-error").textContent = "Fyndet kunde inte sparas på telefonen (lagringen är full?).";
    });
  });

  /* --- the queue on the page ----------------------------------------------------- */

  function render() {
    return all("findings").then(function (items) {
      var waiting = items.filter(function (i) { return !i.sent_at; });
      el("queue-count").textContent = waiting.length === 0
        ? "Inga fynd väntar på att skickas."
        : (waiting.length === 1 ? "1 fynd väntar" : waiting.length + " fynd väntar") +
          " på att skickas.";
      el("queue-count").dataset.waiting = String(waiting.length);
      var list = el("queue-list");
      list.textContent = "";
      items.slice(-100).forEach(function (i) {
        var li = document.createElement("li");
        li.className = "list-group-item tk-queue-item" + (i.sent_at ? " is-sent" : " is-waiting");
        li.dataset.clientId = i.client_id;
        var what = (data.categories[i.category] || i.category) + (i.has_photo ? " (med foto)" : "") +
          ", sparad " + i.found_at.slice(11);
        var state = i.sent_at ? " – skickad " + clock(i.sent_at) : (i.error ? " – " + i.error : " – väntar");
        li.textContent = what + state;
        if (i.url) {
          var a = document.createElement("a");
          a.href = i.url;
          a.textContent = " Visa";
          li.appendChild(a);
        }
        list.appendChild(li);
      });
    });
  }

  /* --- sync ---------------------------------------------------------------------- */

  var syncing = false;
  var delay = 5000;
  var timer = null;

  function status(text) {
    el("connection").textContent = text;
    el("connection").hidden = !text;
  }

  function retryLater() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; sync(); }, delay);
    status("Servern gick inte att nå. Ett nytt försök görs om " + Math.round(delay / 1000) + " s.");
    delay = Math.min(delay * 2, 300000);
  }

  function Stop(kind) { this.kind = kind; }

  function token() {
    return fetch(data.urls.csrf, { credentials: "same-origin", cache: "no-store",
                                   headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) { throw new Stop("login"); }
        if (!r.ok) { throw new Stop("retry"); }
        return r.json();
      }, function () { throw new Stop("retry"); })
      .then(function (body) { return body.csrf_token; });
  }

  function send(url, body, csrf, json) {
    var headers = { Accept: "application/json", "X-CSRFToken": csrf };
    if (json) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
                        body: json ? JSON.stringify(body) : body })
      .then(function (r) {
        if (r.status === 401) { throw new Stop("login"); }
        if (r.status === 400 || r.status === 409 || r.status >= 500) { throw new Stop("retry"); }
        return r.json().catch(function () { return {}; }).then(function (b) {
          return { status: r.status, body: b };
        });
      }, function () { throw new Stop("retry"); });
  }

  function refusal(result) {
    var errors = (result.body && result.body.errors) || [];
    var text = errors.map(function (e) { return e.message; }).join("; ") ||
      (result.body && result.body.error) ||
      (result.status === 403 ? "du har inte behörighet att registrera här"
        : (result.status === 413 ? "fotot är för stort" : "fel " + result.status));
    return "skickades inte: " + text;
  }

  function sendWalk(walk, csrf) {
    return send(data.urls.walk, { client_id: walk.client_id, date: walk.date,
      start_time: walk.start_time, area: walk.area, organisers: walk.organisers,
      participants: walk.participants }, csrf, true).then(function (result) {
      if (result.status === 200 || result.status === 201) {
        walk.sent_at = new Date().toISOString();
        walk.error = null;
      } else {
        walk.error = refusal(result);
      }
      return put("walks", walk);
    });
  }

  function sendFinding(f, csrf) {
    var body = new FormData();
    ["client_id", "walk_client_id", "found_at", "category", "severity", "description",
     "owner", "lat", "lon"].forEach(function (k) { body.append(k, f[k] || ""); });
    if (f.photo) { body.append("photo", f.photo, f.photo_name || "foto.jpg"); }
    return send(data.urls.finding, body, csrf, false).then(function (result) {
      if (result.status === 200 || result.status === 201) {
        f.sent_at = new Date().toISOString();
        f.server_id = result.body.id;
        f.url = result.body.url || null;
        f.error = null;
        f.photo = null;  // stored on the server now: free the phone's space
      } else {
        f.error = refusal(result);  // kept, never dropped: shown on the page
      }
      return put("findings", f);
    });
  }

  function sync() {
    if (syncing) { return Promise.resolve(); }
    if (!navigator.onLine) {
      status("Ingen uppkoppling: fynden sparas på telefonen och skickas när uppkopplingen är tillbaka.");
      return Promise.resolve();
    }
    syncing = true;
    var csrf;
    return Promise.all([all("walks"), all("findings")]).then(function (lists) {
      var walks = lists[0].filter(function (w) { return !w.sent_at && !w.error; });
      var findings = lists[1].filter(function (f) { return !f.sent_at && !f.error; });
      if (!walks.length && !findings.length) { return null; }
      return token().then(function (t) {
        csrf = t;
        var chain = Promise.resolve();
        walks.forEach(function (w) { chain = chain.then(function () { return sendWalk(w, csrf); }); });
        findings.forEach(function (f) {
          chain = chain.then(function () { return sendFinding(f, csrf); });
        });
        return chain;
      });
    }).then(function () {
      delay = 5000;
      el("login-needed").hidden = true;
      status("");
    }, function (err) {
      if (err instanceof Stop && err.kind === "login") {
        el("login-needed").hidden = false;
        status("");
      } else {
        retryLater();
      }
    }).then(function () {
      syncing = false;
      return render();
    });
  }

  window.addEventListener("online", function () { delay = 5000; sync(); });
  window.addEventListener("offline", function () {
    status("Ingen uppkoppling: fynden sparas på telefonen och skickas när uppkopplingen är tillbaka.");
  });
  el("sync-now").addEventListener("click", function () { delay = 5000; sync(); });
  window.tkWalkSync = sync;

  /* --- offline: the service worker ------------------------------------------------ */

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(data.urls.sw, { scope: data.urls.sw.replace(/sw\.js$/, "") }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      el("offline-ready").textContent = "Sidan fungerar även utan uppkoppling.";
      el("offline-ready").dataset.ready = "yes";
    }, function () {
      el("offline-ready").textContent = "Sidan kan inte sparas för användning utan uppkoppling " +
        "i den här webbläsaren; fynden sparas ändå på telefonen.";
    });
  }

  showWalk();
  render().then(sync);
})();
