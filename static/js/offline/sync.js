/* Sending the queue (queue.js): in the order saved, each exactly once, through the same form endpoint as a save
 * made online (it takes photos; the JSON API does not), with the item's own request id, which the server
 * recognises if a send whose answer was lost is repeated.
 *
 * Run by the pages (on opening, on the `online` event) and by the service worker (Background Sync), never twice
 * at once (a Web Lock where the browser has them). Outcomes per item:
 *   saved            -> removed; a later item of the same zone that builds on it moves to the new version;
 *   409 (zone moved) -> 'conflict' with the zone's current values; later items of that zone wait for the user;
 *   422/400/403/404  -> 'invalid' with the server's messages; later items of that zone wait too;
 *   signed out       -> stop; the page asks the user to sign in again, then the queue goes on;
 *   no network/5xx   -> stop; tried again later.
 * No DOM here: it runs in the worker as well.
 */
(function (scope) {
  'use strict';
  var queue = scope.khgeoQueue;
  // addresses: the worker gets them on its first line (khgeo/web/offline.py), the pages from ui.js
  function setting(name, fallback) { return (scope.KHGEO && scope.KHGEO[name]) || fallback; }

  function locked(name, work) {
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request(name, work);
    }
    return work();
  }

  function signedOut(response) {
    if (response.status === 401) { return true; }
    return response.redirected && new URL(response.url).pathname === setting('loginPath', '/login');
  }

  function state() {
    // (the header: a background request, which leaves the session cookie as it is unless it changed it)
    return fetch(setting('statePath', '/offline/state.json'), {
      credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Khgeo-Precache': '1' }, cache: 'no-store'
    })
      .then(function (response) {
        var type = response.headers.get('Content-Type') || '';
        if (signedOut(response) || !response.ok || type.indexOf('application/json') !== 0) {
          return { signedOut: true };
        }
        return response.json();
      });
  }

  function messages(html) {
    var found = [];
    var pattern = /class="field-error"[^>]*>([^<]*)</g;
    var match;
    while ((match = pattern.exec(html)) !== null) { found.push(match[1]); }
    return found;
  }

  function body(item, csrf) {
    var data = new FormData();
    Object.keys(item.fields).forEach(function (name) { data.append(name, item.fields[name]); });
    data.set('csrf_token', csrf);
    data.set('version', String(item.version));
    data.set('request_id', item.key);
    (item.photos || []).forEach(function (photo) { data.append('photos', photo.blob, photo.name); });
    return data;
  }

  function current(item) {
    return fetch(item.api || '/api/zones/' + encodeURIComponent(item.zone), {
      credentials: 'same-origin', headers: { Accept: 'application/geo+json', 'X-Khgeo-Precache': '1' }, cache: 'no-store'
    }).then(function (response) {
      return response.json().then(function (feature) {
        var props = feature.properties || {};
        var etag = (response.headers.get('ETag') || '').replace(/"/g, '');
        return { values: props, version: parseInt(etag || props.version, 10) };
      });
    });
  }

  function send(userId, item, csrf) {
    return fetch(item.action, {
      method: 'POST', body: body(item, csrf), credentials: 'same-origin',
      headers: { 'X-Requested-With': 'khgeo-queue' }
    }).then(function (response) {
      if (signedOut(response)) { return { outcome: 'signed-out' }; }
      var type = response.headers.get('Content-Type') || '';
      if (response.ok && type.indexOf('application/json') === 0) {
        return response.json().then(function (answer) { return { outcome: 'saved', version: answer.version }; });
      }
      if (response.status === 409) {
        return current(item).then(function (now) { return { outcome: 'conflict', now: now }; });
      }
      if (response.status >= 500) { return { outcome: 'later' }; }
      return response.text().then(function (html) {
        return { outcome: 'invalid', status: response.status, errors: messages(html) };
      });
    });
  }

  function sendAll(userId) {
    var report = { sent: 0, conflicts: 0, invalid: 0, signedOut: false, offline: false, left: 0 };
    return queue.all(userId).then(function (items) {
      if (!items.some(function (item) { return item.state === 'pending'; })) {
        report.left = items.length;
        return report;
      }
      return state().then(function (me) {
        if (me.signedOut || String(me.user) !== String(userId)) {
          report.signedOut = true;
          report.left = items.length;
          return report;
        }
        var waiting = {};  // zones with an item the user must look at: their later items wait behind it
        var index = 0;
        function next() {
          if (index >= items.length) { return Promise.resolve(report); }
          var item = items[index++];
          if (item.state !== 'pending' || waiting[item.zone]) {
            waiting[item.zone] = true;
            report.left += 1;
            return next();
          }
          return send(userId, item, me.csrf_token).then(function (result) {
            if (result.outcome === 'saved') {
              report.sent += 1;
              var moved = items.filter(function (later) { return later.after === item.id && result.version; });
              moved.forEach(function (later) {
                later.version = result.version;
                later.after = null;
                rebase(later, item.fields);  // it was typed over the same old form: keep what this one sent
              });
              return queue.remove(userId, item.id).then(function () {
                return Promise.all(moved.map(function (later) { return queue.put(userId, later); }));
              }).then(next);
            }
            if (result.outcome === 'signed-out') {
              report.signedOut = true;
              report.left += items.length - index + 1;
              return report;
            }
            if (result.outcome === 'later') {
              report.offline = true;
              report.left += items.length - index + 1;
              return report;
            }
            waiting[item.zone] = true;
            report.left += 1;
            if (result.outcome === 'conflict') {
              report.conflicts += 1;
              item.state = 'conflict';
              item.current = result.now.values;
              item.currentFromForm = false;  // the page reads the zone's form for every field (ui.js)
              item.currentVersion = result.now.version;
            } else {
              report.invalid += 1;
              item.state = 'invalid';
              item.status = result.status;
              item.errors = result.errors;
            }
            return queue.put(userId, item).then(next);
          });
        }
        return next();
      });
    }).catch(function () {
      report.offline = true;  // the network went away mid-way: what was sent is removed, the rest waits
      return queue.all(userId).then(function (items) { report.left = items.length; return report; });
    });
  }

  /* Send what waits for this user; resolves with a report (never rejects). */
  function run(userId) {
    if (!userId) { return Promise.resolve({ sent: 0, left: 0 }); }
    return locked('khgeo-sync-u' + userId, function () { return sendAll(userId); });
  }

  /* An update typed over a form that has since moved on (another save came first): the fields the user left as
   * the form showed them take the newer values; what the user changed stays theirs. The note is always theirs. */
  function rebase(item, newer) {
    if (!item.original || !newer) { return; }
    Object.keys(item.fields).forEach(function (name) {
      if (name !== 'note' && item.fields[name] === item.original[name] && newer[name] !== undefined) {
        item.fields[name] = newer[name];
      }
    });
    item.original = Object.assign({}, item.original, newer);
  }

  /* A conflict: send it again on the zone's new version, with what the user changed (the rest as it is now). */
  function reapply(userId, item) {
    rebase(item, item.currentRaw);
    item.version = item.currentVersion;
    item.state = 'pending';
    item.after = null;
    ['current', 'currentRaw', 'currentLabels', 'currentFromForm', 'errors'].forEach(function (name) { delete item[name]; });
    return queue.put(userId, item);
  }

  scope.khgeoSync = { run: run, reapply: reapply, rebase: rebase };
}(self));
