/* The offline panel (/offline, templates/offline.html): what is kept on the phone and how big, its download
 * button, and the queue item by item — a conflict beside the zone's current values, to re-apply or discard.
 * Drawn again whenever ui.js says the queue changed.
 */
(function () {
  'use strict';
  var offline = window.khgeoOffline;
  var list = document.getElementById('offline-queue');
  if (!offline || !offline.userId || !list) { return; }
  var queue = window.khgeoQueue;
  var userId = offline.userId;
  var say = offline.say;
  var when = offline.when;
  var size = offline.size;
  var readMeta = offline.readMeta;
  var download = offline.download;

  var FIELDS = ['as_of', 'clearance_area_ha', 'cleared_area_ha', 'clearance_pct', 'households_total',
    'households_agreed', 'wwtp_status', 'wwtp_capacity_m3_day', 'infrastructure_pct', 'occupancy_pct', 'note'];

  function showStored(meta) {
    var status = document.getElementById('offline-stored');
    if (!status) { return; }
    status.textContent = meta && meta.refreshedAt
      ? say('stored', { n: meta.count, size: size(meta.bytes), when: when(meta.refreshedAt) })
      : say('nothing_stored');
  }

  function shown(value) {
    if (value === null || value === undefined || value === '') { return '—'; }
    if (typeof value === 'number') { return value.toLocaleString('vi-VN'); }
    return String(value);
  }

  function cell(row, text, tag) {
    var element = document.createElement(tag || 'td');
    element.textContent = text;
    row.appendChild(element);
  }

  function button(text, handler) {
    var element = document.createElement('button');
    element.type = 'button';
    element.textContent = text;
    element.addEventListener('click', handler);
    return element;
  }

  /* The zone's current values as its update form shows them (the user's number format, every field, the
   * labels of the wastewater statuses): read once per conflict while there is a network. */
  function readForm(item) {
    return fetch(item.action, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-Khgeo-Precache': '1' } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(new Error('no form')); })
      .then(function (html) {
        var form = new DOMParser().parseFromString(html, 'text/html').getElementById('update-form');
        if (!form) { throw new Error('no form'); }
        var values = {};
        var raw = {};
        var labels = {};
        FIELDS.forEach(function (name) {
          var element = form.elements[name];
          if (element && name !== 'as_of' && name !== 'note') { values[name] = raw[name] = element.value; }
        });
        Array.prototype.forEach.call(form.querySelectorAll('select[name=wwtp_status] option'), function (option) {
          labels[option.value] = option.textContent.trim();
        });
        if (values.wwtp_status !== undefined) { values.wwtp_status = labels[values.wwtp_status] || ''; }
        item.current = values;
        item.currentRaw = raw;
        item.currentLabels = labels;
        item.currentVersion = parseInt(form.elements.version.value, 10);
        item.currentFromForm = true;
        return queue.put(userId, item);
      });
  }

  function comparison(item) {
    var table = document.createElement('table');
    table.className = 'compare';
    var head = table.createTHead().insertRow();
    cell(head, '', 'th');
    cell(head, say('now_saved') + ' (' + say('version') + ' ' + item.currentVersion + ')', 'th');
    cell(head, say('yours'), 'th');
    var body = table.createTBody();
    FIELDS.forEach(function (name) {
      var mine = item.fields[name];
      var before = item.original ? item.original[name] : undefined;
      var nowRaw = item.currentRaw ? item.currentRaw[name] : undefined;
      // the fields I changed, and those changed by the other save: the rest is the same on both sides
      var changed = before === undefined || mine !== before || (nowRaw !== undefined && nowRaw !== before);
      if (!changed || ((mine === undefined || mine === '') && (nowRaw === undefined || nowRaw === ''))) { return; }
      if (name === 'wwtp_status' && item.currentLabels && mine !== undefined) { mine = item.currentLabels[mine] || mine; }
      var now = item.current ? item.current[name] : undefined;
      var row = body.insertRow();
      cell(row, say('field_' + name), 'th');
      cell(row, name === 'note' ? '' : shown(now));
      cell(row, shown(mine));
    });
    return table;
  }

  var formsRead = {};  // conflicts whose zone form was read (or tried) on this page

  function renderPanel() {
    var list = document.getElementById('offline-queue');
    if (!list || !userId) { return Promise.resolve(); }
    return queue.all(userId).then(function (items) {
      var unread = items.filter(function (item) {
        return item.state === 'conflict' && !item.currentFromForm && !formsRead[item.id + ':' + item.currentVersion];
      });
      if (unread.length && navigator.onLine) {
        unread.forEach(function (item) { formsRead[item.id + ':' + item.currentVersion] = true; });
        Promise.all(unread.map(function (item) { return readForm(item).catch(function () { return null; }); }))
          .then(function () { return renderPanel(); });
      }
      list.textContent = '';
      if (!items.length) {
        var empty = document.createElement('li');
        empty.className = 'empty';
        empty.textContent = say('empty_queue');
        list.appendChild(empty);
        return;
      }
      items.forEach(function (item) {
        var entry = document.createElement('li');
        entry.className = 'queued state-' + item.state;
        entry.setAttribute('data-zone', item.zone);
        if (item.currentFromForm) { entry.setAttribute('data-current', 'form'); }
        var title = document.createElement('strong');
        title.textContent = item.zoneName || item.zone;
        entry.appendChild(title);
        var detail = document.createElement('span');
        detail.className = 'khgeo-muted';
        detail.textContent = ' · ' + say('state_' + item.state) + ' · ' + say('saved_at', { when: when(item.savedAt) }) +
          ((item.photos || []).length ? ' · ' + say('field_photos') + ': ' + item.photos.length : '');
        entry.appendChild(detail);
        if (item.state === 'conflict') { entry.appendChild(comparison(item)); }
        if (item.state === 'invalid' && item.errors && item.errors.length) {
          var errors = document.createElement('p');
          errors.className = 'field-error';
          errors.textContent = item.errors.join(' · ');
          entry.appendChild(errors);
        }
        if (item.state !== 'pending') {
          var actions = document.createElement('p');
          actions.className = 'actions';
          if (item.state === 'conflict') {
            var again = button(say('reapply'), function () {
              again.disabled = true;
              (item.currentRaw ? Promise.resolve() : readForm(item)).catch(function () { return null; })
                .then(function () { return window.khgeoSync.reapply(userId, item); })
                .then(offline.showCount).then(offline.sync);
            });
            again.className = 'primary';
            again.setAttribute('data-action', 'reapply');
            actions.appendChild(again);
          }
          if (item.state === 'invalid') {
            // back to the zone's form, filled in with what was typed (update-form.js restores it as a draft)
            var correct = button(say('correct'), function () {
              correct.disabled = true;
              readForm(item).then(function () {
                var draft = Object.assign({}, item.fields, { version: String(item.currentVersion) });
                delete draft.request_id;
                localStorage.setItem('khgeo-draft-' + item.zone, JSON.stringify(draft));
                return queue.remove(userId, item.id);
              }).then(function () { window.location.assign(item.action); }, function () { correct.disabled = false; });
            });
            correct.className = 'primary';
            correct.setAttribute('data-action', 'correct');
            actions.appendChild(correct);
          }
          var drop = button(say('discard'), function () {
            if (!window.confirm(say('discard_confirm'))) { return; }
            queue.remove(userId, item.id).then(offline.showCount);
          });
          drop.setAttribute('data-action', 'discard');
          actions.appendChild(drop);
          entry.appendChild(actions);
        }
        list.appendChild(entry);
      });
    });
  }

  var downloadButton = document.getElementById('offline-download');
  if (downloadButton) {
    showStored(readMeta(userId));
    downloadButton.addEventListener('click', function () {
      downloadButton.disabled = true;
      var status = document.getElementById('offline-stored');
      download(true, function (done, total) { status.textContent = say('downloading', { done: done, n: total }); })
        .then(showStored, function () { status.textContent = say('download_failed'); })
        .then(function () { downloadButton.disabled = false; });
    });
  }

  document.addEventListener('khgeo-queue-changed', function () { renderPanel(); });
  document.addEventListener('khgeo-offline-stored', function (event) { showStored(event.detail); });
  renderPanel();
}());
