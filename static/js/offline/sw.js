/* khgeo's service worker, served as /sw.js (khgeo/web/offline.py puts `self.KHGEO = {version, shell, …}` above
 * this text). Hand-written rather than Workbox: it does three small things — keep the app's own files, keep the
 * pages the server marks as the signed-in user's area (X-Khgeo-Offline: keep, X-Khgeo-User: <id>), send the
 * queue on Background Sync — and about 130 lines say exactly what is cached and for whom. Workbox's runtime
 * would add some 15 vendored modules and its own strategies, none of which knows about per-user caches.
 *
 *   /static/…        cache first ("khgeo-shell-<version>", filled at install, replaced when a file changes)
 *   other GET pages  network first; a response marked "keep" for the current user goes into "khgeo-u<id>";
 *                    without a network the kept copy is answered, else (a page) the kept offline panel
 *   basemap tiles    only with KHGEO_OFFLINE_TILES: the copies the offline panel downloaded, else the tile server
 *   anything else    (POST, other hosts, unmarked pages, admin pages) straight to the network, never stored
 */
/* global KHGEO */
'use strict';
importScripts.apply(self, KHGEO.scripts);

var SHELL = 'khgeo-shell-' + KHGEO.version;
var META = 'khgeo-meta';
var USER_KEY = '/__khgeo/user';
var USER_CACHE = 'khgeo-u';

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(KHGEO.shell); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf('khgeo-shell-') === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function currentUser() {
  return caches.open(META).then(function (cache) { return cache.match(USER_KEY); })
    .then(function (response) { return response ? response.text() : ''; });
}

/* Another account signed in (or the user signed out): drop every other user's kept pages. */
function setUser(userId) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(USER_CACHE) === 0 && name !== USER_CACHE + userId;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return caches.open(META).then(function (cache) {
      return userId ? cache.put(USER_KEY, new Response(String(userId))) : cache.delete(USER_KEY);
    });
  });
}

self.addEventListener('message', function (event) {
  var data = event.data || {};
  if (data.type === 'user') {
    event.waitUntil(currentUser().then(function (known) {
      if (String(data.userId) !== known) { return setUser(String(data.userId)); }
      return null;
    }).then(function () { if (event.ports[0]) { event.ports[0].postMessage('ok'); } }));
  } else if (data.type === 'logout') {
    event.waitUntil(setUser('').then(function () { if (event.ports[0]) { event.ports[0].postMessage('ok'); } }));
  }
});

function keep(request, response) {
  if (!response || response.status !== 200 || response.type !== 'basic' || response.redirected) {
    return Promise.resolve();
  }
  if (response.headers.get('X-Khgeo-Offline') !== 'keep') { return Promise.resolve(); }
  var owner = response.headers.get('X-Khgeo-User') || '';
  return currentUser().then(function (userId) {
    if (!userId || owner !== userId) { return null; }  // someone else's answer: never stored
    return caches.open(USER_CACHE + userId).then(function (cache) { return cache.put(request, response); });
  });
}

function kept(request) {
  return currentUser().then(function (userId) {
    if (!userId) { return undefined; }
    return caches.open(USER_CACHE + userId).then(function (cache) {
      return cache.match(request).then(function (found) {
        if (found || request.mode !== 'navigate') { return found; }
        return cache.match(KHGEO.offlinePage);
      });
    });
  });
}

function networkFirst(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request, response.clone()));
    return response;
  }, function () {
    return kept(request).then(function (found) { return found || Response.error(); });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method === 'GET' && KHGEO.tilesOrigin && url.origin === KHGEO.tilesOrigin) {
    // basemap tiles the phone kept (KHGEO_OFFLINE_TILES): the kept copy first, the tile server otherwise
    event.respondWith(kept(request).then(function (found) { return found || fetch(request); }));
    return;
  }
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname === KHGEO.workerPath) { return; }
  if (url.pathname.indexOf(KHGEO.staticPrefix) === 0) {
    event.respondWith(caches.open(SHELL).then(function (cache) {
      return cache.match(request, { ignoreSearch: true }).then(function (found) { return found || fetch(request); });
    }));
    return;
  }
  event.respondWith(networkFirst(event));
});

/* Background Sync: the queue goes out as soon as the phone has a network, even with the app closed. */
self.addEventListener('sync', function (event) {
  if (event.tag !== 'khgeo-queue') { return; }
  event.waitUntil(currentUser().then(function (userId) {
    return self.khgeoSync.run(userId);
  }).then(function (report) {
    return self.clients.matchAll().then(function (clients) {
      clients.forEach(function (client) { client.postMessage({ type: 'queue-changed', report: report }); });
      if (report.offline) { throw new Error('still offline'); }  // the browser tries again later
    });
  }));
});
