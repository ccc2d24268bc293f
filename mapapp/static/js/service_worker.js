/* The service worker of walk mode (served as /sw.js; see mapapp/walkmode.py).
 *
 * self.TK_SHELL (prepended by the server) names the walk page, the static files it
 * needs (the vendored Leaflet and Bootstrap, our JS and CSS, the icons) and a
 * version made from their contents. Install keeps them all in one cache; activate
 * deletes older versions. The walk page is fetched from the network first (so a
 * signed-in user gets a fresh page and token) and from the cache when there is no
 * connection or no answer within PAGE_WAIT_MS; static files come from the cache first. Everything else, and every
 * POST, goes to the network untouched: findings wait in IndexedDB, not here.
 */
"use strict";

var SHELL = self.TK_SHELL;
var CACHE = "tk-walk-" + SHELL.version;
var PAGE_WAIT_MS = 6000;

function pageRequest() {
  return new Request(SHELL.page, { credentials: "same-origin" });
}

function keepPage(cache, response) {
  // never keep the log-in page a signed-out visitor is sent to
  if (response.ok && !response.redirected && response.type === "basic") {
    return cache.put(SHELL.page, response.clone()).then(function () { return response; });
  }
  return Promise.resolve(response);
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL.shell).then(function () {
      return fetch(pageRequest()).then(function (r) { return keepPage(cache, r); },
                                       function () { return null; });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("tk-walk-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === SHELL.page) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      var network = fetch(request).then(function (r) { return keepPage(cache, r); });
      var kept = function () {
        return cache.match(SHELL.page).then(function (hit) { return hit || network; });
      };
      // a tunnel with a weak signal: after PAGE_WAIT_MS the kept page is good enough
      var slow = new Promise(function (resolve) { setTimeout(resolve, PAGE_WAIT_MS); })
        .then(kept);
      return Promise.race([network, slow]).catch(kept);
    }));
    return;
  }
  if (url.pathname.indexOf(SHELL.static) === 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request, { ignoreSearch: true }).then(function (hit) {
        return hit || fetch(request);
      });
    }));
  }
});
