/* The queue of updates saved without a signal, in IndexedDB: one database per signed-in user
 * ("khgeo-queue-u<id>"), so a user's queue is never read on another account and can be wiped whole.
 *
 * An item: {id (order of saving), userId, zone, zoneName, action (the form's address), fields {name: value},
 * photos [{blob, name}], key (the request id the server deduplicates on), version (the zone version it was
 * based on), after (id of an earlier item of the same zone it builds on), state ('pending' | 'conflict' |
 * 'invalid'), savedAt, current / currentVersion (the zone now, for a conflict), errors}.
 * Loaded by the pages and by the service worker (importScripts): no DOM here.
 */
(function (scope) {
  'use strict';
  var PREFIX = 'khgeo-queue-u';
  var STORE = 'items';

  function open(userId) {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(PREFIX + userId, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(userId, mode, work) {
    return open(userId).then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
        result = work(tx.objectStore(STORE));
      });
    });
  }

  function all(userId) {
    return open(userId).then(function (db) {
      return new Promise(function (resolve, reject) {
        var request = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
        request.onsuccess = function () { db.close(); resolve(request.result || []); };
        request.onerror = function () { db.close(); reject(request.error); };
      });
    });
  }

  function uuid() {
    if (scope.crypto && scope.crypto.randomUUID) { return scope.crypto.randomUUID(); }
    var bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  /* Queue a save. Each gets its own request id: a form opened from the cache twice carries the same hidden one,
   * and the server would take the second save for a resend of the first. A second save of a zone still waiting
   * builds on the first (its version is set when the first has gone through). */
  function add(userId, item) {
    return all(userId).then(function (items) {
      var earlier = items.filter(function (other) { return other.zone === item.zone; });
      item.userId = userId;
      item.key = uuid();
      item.state = 'pending';
      item.savedAt = new Date().toISOString();
      item.after = earlier.length ? earlier[earlier.length - 1].id : null;
      return run(userId, 'readwrite', function (store) {
        var request = store.add(item);
        request.onsuccess = function () { item.id = request.result; };
        return item;
      });
    });
  }

  function put(userId, item) {
    return run(userId, 'readwrite', function (store) { store.put(item); return item; });
  }

  function remove(userId, id) {
    return run(userId, 'readwrite', function (store) { store.delete(id); });
  }

  function databases() {
    if (!scope.indexedDB.databases) { return Promise.resolve([]); }
    return scope.indexedDB.databases().then(function (list) {
      return list.map(function (db) { return db.name; }).filter(function (name) {
        return name && name.indexOf(PREFIX) === 0;
      });
    });
  }

  function drop(name) {
    return new Promise(function (resolve) {
      var request = scope.indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    });
  }

  /* Every user's queue (logout), or every one but this user's (another account signed in on this phone). */
  function wipe(exceptUserId) {
    return databases().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return exceptUserId === undefined || name !== PREFIX + exceptUserId;
      }).map(drop));
    });
  }

  /* The users, other than this one, who left updates unsent on this phone, with how many. */
  function othersWaiting(userId) {
    return databases().then(function (names) {
      var others = names.filter(function (name) { return name !== PREFIX + userId; });
      return Promise.all(others.map(function (name) {
        return all(name.slice(PREFIX.length)).then(function (items) { return items.length; });
      })).then(function (counts) { return counts.reduce(function (a, b) { return a + b; }, 0); });
    });
  }

  scope.khgeoQueue = { all: all, add: add, put: put, remove: remove, wipe: wipe, othersWaiting: othersWaiting, uuid: uuid };
}(self));
