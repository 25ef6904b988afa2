/* The field update form on a weak network: send with fetch so a failed connection never loses what was typed.
 * A draft is kept in localStorage until the save succeeds; a resend is harmless (the server recognises the
 * request_id, and the version check refuses a save based on stale figures).
 */
(function () {
  'use strict';
  var form = document.getElementById('update-form');
  if (!form || !window.fetch || !window.FormData) { return; }
  var key = form.getAttribute('data-draft-key');
  var message = form.querySelector('.offline-message');
  var fields = ['as_of', 'clearance_area_ha', 'cleared_area_ha', 'clearance_pct', 'households_total',
    'households_agreed', 'wwtp_status', 'wwtp_capacity_m3_day', 'infrastructure_pct', 'occupancy_pct', 'note',
    'request_id', 'version'];

  function saveDraft() {
    var draft = {};
    fields.forEach(function (name) { if (form.elements[name]) { draft[name] = form.elements[name].value; } });
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* storage full or disabled */ }
  }

  function restoreDraft() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw) { return; }
    var draft = JSON.parse(raw);
    // only a draft made against the version shown now: otherwise the server's conflict page is the guide
    if (draft.version !== form.elements.version.value) { return; }
    fields.forEach(function (name) {
      if (form.elements[name] && draft[name] !== undefined) { form.elements[name].value = draft[name]; }
    });
  }

  if (!form.querySelector('[aria-invalid]') && !document.querySelector('.conflict')) { restoreDraft(); }
  form.addEventListener('input', saveDraft);

  // without a network the save waits in the phone's queue (static/js/offline/), and goes out when it returns
  var offline = window.khgeoOffline && window.khgeoOffline.userId ? window.khgeoOffline : null;

  function queueIt(button) {
    return offline.enqueue(form, form.getAttribute('data-zone'), form.getAttribute('data-zone-name')).then(function () {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
      return offline.showCount().then(function () { return offline.canOpen(form.getAttribute('data-zone-url')); });
    }).then(function (canOpen) {
      if (canOpen) { window.location.assign(form.getAttribute('data-zone-url')); return; }
      // the zone page is not on the phone: stay here, the form emptied of what is now queued
      message.textContent = form.getAttribute('data-queued-message');
      message.classList.replace('flash-error', 'flash-success');
      message.hidden = false;
      form.reset();
      if (form.elements.photos) { form.elements.photos.value = ''; }
      button.disabled = false;
    }, function () {
      message.classList.replace('flash-success', 'flash-error');
      message.textContent = form.getAttribute('data-offline-message');
      message.hidden = false;
      button.disabled = false;
    });
  }

  function onSubmit(event) {
    event.preventDefault();
    saveDraft();
    message.hidden = true;
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    if (!offline) { post(button); return; }
    if (!navigator.onLine) { queueIt(button); return; }
    // an earlier save of this zone still waits: this one goes behind it, in order
    offline.waitingFor(form.getAttribute('data-zone')).then(function (waiting) {
      if (waiting) { queueIt(button); } else { post(button); }
    });
  }

  function post(button) {
    fetch(form.action || window.location.href, {
      method: 'POST', body: new FormData(form), credentials: 'same-origin',
      headers: { 'X-Requested-With': 'khgeo-form' }
    })
      .then(function (response) {
        var type = response.headers.get('Content-Type') || '';
        if (response.ok && type.indexOf('application/json') === 0) {
          return response.json().then(function (answer) {
            try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
            window.location.assign(answer.location);
          });
        }
        return response.text().then(function (html) {
          // a refused save (conflict, invalid value): show the server's page, which keeps what was typed
          var page = new DOMParser().parseFromString(html, 'text/html');
          var main = page.querySelector('main');
          if (!main) { throw new Error('unexpected response'); }
          document.querySelector('main').replaceWith(main);
          window.scrollTo(0, 0);
          var again = document.getElementById('update-form');
          if (again) {
            // keep the photos the user picked: file inputs cannot be re-filled from the server's page
            var picked = form.elements.photos;
            if (picked && picked.files.length && again.elements.photos) { again.elements.photos.replaceWith(picked); }
            form = again;
            key = form.getAttribute('data-draft-key');
            message = form.querySelector('.offline-message');
            form.addEventListener('input', saveDraft);
            form.addEventListener('submit', onSubmit);
          }
        });
      })
      .catch(function () {
        if (offline) { queueIt(button); return; }
        message.textContent = form.getAttribute('data-offline-message');
        message.hidden = false;
        button.disabled = false;
      });
  }

  form.addEventListener('submit', onSubmit);
}());
