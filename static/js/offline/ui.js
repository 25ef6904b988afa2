/* The installable, offline app in the page: registers the worker (sw.js), tells it who is signed in, keeps the
 * user's area on the phone, shows "Chờ gửi (n)", sends the queue (sync.js) on opening and when the network
 * returns, the install button, and the logout warning. The offline panel (/offline) is panel.js, the photos'
 * resizing photos.js.
 * Every string comes from the JSON block base.html renders (#khgeo-offline-strings), in the user's language.
 */
(function () {
  'use strict';
  var root = document.getElementById('khgeo-offline');
  if (!root || !window.indexedDB || !window.khgeoQueue) { return; }
  var queue = window.khgeoQueue;
  var strings = JSON.parse(document.getElementById('khgeo-offline-strings').textContent);
  var userId = root.getAttribute('data-user');
  window.KHGEO = window.KHGEO || { statePath: root.getAttribute('data-state'), loginPath: root.getAttribute('data-login-path') };
  var LAST_USER = 'khgeo-last-user';
  var NOTICE = 'khgeo-queued-notice';
  var USER_CACHE = 'khgeo-u';
  var ready = Promise.resolve(null);  // the worker, once it knows the user

  function say(name, values) {
    return (strings[name] || name).replace(/\{(\w+)\}/g, function (_all, key) {
      return values && values[key] !== undefined ? values[key] : '';
    });
  }

  function metaKey(id) { return 'khgeo-offline-u' + id; }
  function readMeta(id) {
    try { return JSON.parse(localStorage.getItem(metaKey(id)) || 'null'); } catch (e) { return null; }
  }
  function writeMeta(id, meta) {
    try { localStorage.setItem(metaKey(id), JSON.stringify(meta)); } catch (e) { /* storage full */ }
  }

  function when(iso) {
    var date = new Date(iso);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(date.getDate()) + '/' + two(date.getMonth() + 1) + '/' + date.getFullYear() + ' ' +
      two(date.getHours()) + ':' + two(date.getMinutes());
  }

  function size(bytes) {
    var units = ['B', 'KB', 'MB', 'GB'];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return value.toLocaleString('vi-VN', { maximumFractionDigits: unit ? 1 : 0 }) + ' ' + units[unit];
  }

  /* -- the worker ------------------------------------------------------------------------------------- */
  /* Resolves once the worker answered, at once when the browser refused the worker (private mode, a policy),
     or after a few seconds (an old browser, a worker that never starts). */
  var registered = Promise.resolve(null);
  function tellWorker(message) {
    if (!('serviceWorker' in navigator)) { return Promise.resolve(); }
    var told = registered.then(function (registration) {
      return registration ? navigator.serviceWorker.ready : null;
    }).then(function (registration) {
      if (!registration) { return null; }
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function () { resolve(registration); };
        registration.active.postMessage(message, [channel.port2]);
      });
    });
    return Promise.race([told, new Promise(function (resolve) { setTimeout(resolve, 5000); })]);
  }

  if ('serviceWorker' in navigator) {
    registered = navigator.serviceWorker.register(root.getAttribute('data-worker'), { scope: root.getAttribute('data-scope') }).catch(function () {
      return null;  /* no worker (private mode, an old browser): the app still works online */
    });
    navigator.serviceWorker.addEventListener('message', function (event) {
      if (event.data && event.data.type === 'queue-changed') { afterSync(event.data.report); }
    });
    if (userId) { ready = tellWorker({ type: 'user', userId: userId }); }
  }
  if (userId) {
    try { localStorage.setItem(LAST_USER, userId); } catch (e) { /* ignore */ }
  }

  /* -- the user's area on the phone ------------------------------------------------------------------- */
  function fetchState() {
    return fetch(root.getAttribute('data-state'), {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json', 'X-Khgeo-Precache': '1' }
    }).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      if (!response.ok || type.indexOf('application/json') !== 0) { throw new Error('signed out'); }
      return response.json();
    });
  }

  function measure(cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.map(function (request) {
        return cache.match(request).then(function (response) { return response.blob(); })
          .then(function (blob) { return blob.size; });
      })).then(function (sizes) {
        return { count: requests.length, bytes: sizes.reduce(function (a, b) { return a + b; }, 0) };
      });
    });
  }

  /* Pages no longer of the user's area (a district taken away, a zone retired) leave the phone. */
  function forget(cache, state) {
    var wanted = {};
    state.urls.concat(state.tiles || []).forEach(function (url) { wanted[new URL(url, location.href).href] = true; });
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (request) { return !wanted[request.url]; })
        .map(function (request) { return cache.delete(request); }));
    });
  }

  /* Download every page of the area into the user's cache (the worker answers with them offline). */
  function download(force, progress) {
    if (!userId || !window.caches || !navigator.onLine) { return Promise.resolve(readMeta(userId)); }
    return ready.then(fetchState).then(function (state) {
      if (String(state.user) !== userId) { throw new Error('another user'); }
      var meta = readMeta(userId);
      if (!force && meta && meta.version === state.version) { return meta; }
      return caches.open(USER_CACHE + userId).then(function (cache) {
        var done = 0;
        var urls = state.urls.slice();
        var tiles = (state.tiles || []).slice();
        var total = urls.length + tiles.length;
        function tile() {
          // basemap tiles (only where KHGEO_OFFLINE_TILES allows): another host, so opaque copies
          var url = tiles.shift();
          if (url === undefined) { return Promise.resolve(); }
          return cache.match(url).then(function (found) {
            if (found) { return null; }
            return fetch(url, { mode: 'no-cors', credentials: 'omit' }).then(function (response) {
              return leaving ? null : cache.put(url, response);
            });
          }).catch(function () { return null; }).then(function () {
            done += 1;
            if (progress) { progress(done, total); }
          }).then(tile);
        }
        function one() {
          var url = urls.shift();
          if (url === undefined) { return tile(); }
          return fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-Khgeo-Precache': '1' } }).then(function (response) {
            done += 1;
            if (progress) { progress(done, total); }
            if (!leaving && response.ok && !response.redirected && response.headers.get('X-Khgeo-Offline') === 'keep' &&
                response.headers.get('X-Khgeo-User') === userId) {
              return cache.put(url, response);
            }
            return null;
          }).then(one);
        }
        // two at a time: quick on a phone's network, gentle on the server
        return Promise.all([one(), one()]).then(function () { return forget(cache, state); })
          .then(function () { return measure(cache); }).then(function (stored) {
          var fresh = { version: state.version, refreshedAt: new Date().toISOString(), count: stored.count, bytes: stored.bytes };
          writeMeta(userId, fresh);
          return fresh;
        });
      });
    }).then(function (meta) {
      if (meta) { document.documentElement.setAttribute('data-offline-ready', meta.version); }
      return meta;
    });
  }

  /* -- the queue -------------------------------------------------------------------------------------- */
  function showCount() {
    var indicator = document.getElementById('khgeo-queue');
    if (!indicator || !userId) { return Promise.resolve([]); }
    return queue.all(userId).then(function (items) {
      var stuck = items.filter(function (item) { return item.state !== 'pending'; }).length;
      indicator.textContent = say('waiting', { n: items.length }) + (stuck ? ' · ' + say('conflicts', { n: stuck }) : '');
      indicator.hidden = items.length === 0;
      indicator.classList.toggle('has-conflicts', stuck > 0);
      document.documentElement.setAttribute('data-queue', String(items.length));
      showZoneWaiting(items);
      document.dispatchEvent(new CustomEvent('khgeo-queue-changed'));  // the offline panel (panel.js)
      return items;
    });
  }

  /* On a zone's page: the user's updates of it that still wait (the figures shown do not have them yet). */
  function showZoneWaiting(items) {
    var match = /\/zones\/([^/]+)$/.exec(window.location.pathname);
    var heading = document.querySelector('main h1');
    if (!match || !heading) { return; }
    var zone = decodeURIComponent(match[1]);
    var mine = items.filter(function (item) { return item.zone === zone; }).length;
    var note = document.getElementById('khgeo-zone-waiting');
    if (!mine) { if (note) { note.remove(); } return; }
    if (!note) {
      note = document.createElement('p');
      note.id = 'khgeo-zone-waiting';
      note.className = 'flash flash-warning';
      note.setAttribute('role', 'status');
      heading.after(note);
    }
    note.textContent = say('zone_waiting', { n: mine });
  }

  function banner(text, link) {
    var element = document.getElementById('khgeo-offline-banner');
    element.textContent = text;
    if (link) {
      var anchor = document.createElement('a');
      anchor.href = link.href;
      anchor.textContent = link.text;
      element.appendChild(document.createTextNode(' '));
      element.appendChild(anchor);
    }
    element.hidden = !text;
  }

  function afterSync(report) {
    return showCount().then(function (items) {
      if (report && report.signedOut && items.length) {
        banner(say('login', { n: items.length }), { href: root.getAttribute('data-login'), text: say('login_link') });
      } else if (report && report.sent) {
        banner(say('sent', { n: report.sent }));
      }
      document.documentElement.setAttribute('data-synced', String(Date.now()));
      return report;
    });
  }

  var syncing = null;
  function sync() {
    if (!userId || !navigator.onLine) { return Promise.resolve(null); }
    if (!syncing) {
      syncing = window.khgeoSync.run(userId).then(afterSync, function () { return null; })
        .then(function (report) { syncing = null; return report; });
    }
    return syncing;
  }

  function askBackgroundSync() {
    if (!('serviceWorker' in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) { return registration.sync.register('khgeo-queue'); }
      return null;
    }).catch(function () { /* no Background Sync: the online event and the next opening send it */ });
  }

  function defaultValue(element) {
    if (element.tagName !== 'SELECT') { return element.defaultValue; }
    var chosen = Array.prototype.filter.call(element.options, function (option) { return option.defaultSelected; });
    return chosen.length ? chosen[0].value : (element.options.length ? element.options[0].value : '');
  }

  /* Put the update form's save in the queue (called by update-form.js when there is no network). */
  function enqueue(form, zone, zoneName) {
    var fields = {};
    var original = {};  // what the form showed when opened: a field left as it was takes a newer value later
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.type === 'file' || ['csrf_token', 'version', 'request_id'].indexOf(element.name) >= 0) { return; }
      fields[element.name] = element.value;
      original[element.name] = defaultValue(element);
    });
    var files = form.elements.photos ? Array.prototype.slice.call(form.elements.photos.files) : [];
    var resize = window.khgeoPhotos ? window.khgeoPhotos.resize : function (file) { return Promise.resolve({ blob: file, name: file.name }); };
    return Promise.all(files.map(resize)).then(function (photos) {
      return queue.add(userId, {
        zone: zone, zoneName: zoneName, action: form.getAttribute('action') || window.location.pathname,
        api: form.getAttribute('data-zone-api'),
        fields: fields, original: original, photos: photos, version: parseInt(form.elements.version.value, 10)
      });
    }).then(function (item) {
      // ask the browser not to evict the queue when the phone runs short of storage
      if (navigator.storage && navigator.storage.persist) { navigator.storage.persist().catch(function () {}); }
      try { sessionStorage.setItem(NOTICE, '1'); } catch (e) { /* ignore */ }
      askBackgroundSync();
      return item;
    });
  }

  function waitingFor(zone) {
    if (!userId) { return Promise.resolve(false); }
    return queue.all(userId).then(function (items) {
      return items.some(function (item) { return item.zone === zone; });
    });
  }

  /* Whether the page opens now: online, or kept on the phone. */
  function canOpen(url) {
    if (navigator.onLine) { return Promise.resolve(true); }
    if (!window.caches || !userId) { return Promise.resolve(false); }
    return caches.open(USER_CACHE + userId).then(function (cache) { return cache.match(url); })
      .then(function (found) { return Boolean(found); });
  }

  /* -- logging out: warn about what has not been sent, then leave nothing behind ----------------------- */
  var leaving = false;  // logging out: a download still running stores nothing more

  function dropKeptPages() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (list) {
      return Promise.all(list.filter(function (name) { return name.indexOf(USER_CACHE) === 0; })
        .map(function (name) { return caches.delete(name); }));
    });
  }

  function wipe() {
    leaving = true;
    return Promise.all([queue.wipe(), dropKeptPages(), tellWorker({ type: 'logout' })]).then(function () {
      try {
        Object.keys(localStorage).forEach(function (key) {
          if (key.indexOf('khgeo-') === 0) { localStorage.removeItem(key); }
        });
      } catch (e) { /* ignore */ }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[action$="/logout"], form[action$="/account/logout-all"]'), function (form) {
    form.addEventListener('submit', function (event) {
      if (form.hasAttribute('data-wiped')) { return; }
      event.preventDefault();
      var items = userId ? queue.all(userId) : Promise.resolve([]);
      items.then(function (list) {
        if (list.length && !window.confirm(say('logout_warning', { n: list.length }))) { return; }
        wipe().then(function () {
          form.setAttribute('data-wiped', '');
          form.submit();
        });
      });
    });
  });

  /* -- the install button ------------------------------------------------------------------------------ */
  var installEvent = null;
  var install = document.getElementById('khgeo-install');
  window.addEventListener('beforeinstallprompt', function (event) {
    event.preventDefault();
    installEvent = event;
    if (install) { install.hidden = false; }
  });
  if (install) {
    install.addEventListener('click', function () {
      if (!installEvent) { return; }
      installEvent.prompt();
      installEvent = null;
      install.hidden = true;
    });
  }

  /* -- on opening ---------------------------------------------------------------------------------------- */
  function onOpen() {
    var notice = null;
    try { notice = sessionStorage.getItem(NOTICE); sessionStorage.removeItem(NOTICE); } catch (e) { /* ignore */ }
    if (!navigator.onLine) {
      banner(say('offline', { when: root.getAttribute('data-rendered') }));
    }
    if (notice) { banner(say('queued')); }
    var last = null;
    try { last = localStorage.getItem(LAST_USER); } catch (e) { /* ignore */ }
    if (!userId && !last) {
      // signed out (the queue and the record of the last user are gone): nothing kept may outlive the logout
      dropKeptPages();
      return;
    }
    if (!userId && last && navigator.onLine) {
      // signed out meanwhile (the session expired): ask for the password, the queue goes on afterwards
      queue.all(last).then(function (items) {
        if (items.length) {
          banner(say('login', { n: items.length }), { href: root.getAttribute('data-login'), text: say('login_link') });
        }
      });
      return;
    }
    showCount().then(sync).then(function () {
      return download(false).catch(function () { return null; });
    }).then(function (meta) {
      if (meta) { document.dispatchEvent(new CustomEvent('khgeo-offline-stored', { detail: meta })); }
    });
  }

  window.addEventListener('online', function () {
    banner('');
    sync();
  });
  window.addEventListener('offline', function () {
    banner(say('offline', { when: root.getAttribute('data-rendered') }));
  });

  window.khgeoOffline = {
    enqueue: enqueue, waitingFor: waitingFor, canOpen: canOpen, sync: sync, showCount: showCount, userId: userId,
    say: say, when: when, size: size, readMeta: readMeta, download: download
  };
  onOpen();
}());
