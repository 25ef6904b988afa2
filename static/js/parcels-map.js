/* khgeo parcels layer: the parcels' vector tiles (/tiles/parcels/{z}/{x}/{y}.mvt, built by PostGIS) drawn by
 * Leaflet.VectorGrid on canvas tiles, coloured by stage, with a tooltip, a popup, filters that reach the tiles,
 * a legend, and a "select parcels" box whose parcels get a stage in one request (POST /api/parcels/stage).
 * Every string that comes from data is put into the page as a text node, never as HTML.
 */
(function (global) {
  'use strict';

  // VectorGrid 1.3.0 renders a tile from fetch() with no catch: without a network (the offline app, issue 16) every
  // tile is an unhandled "Failed to fetch". A tile that cannot be fetched is drawn empty; the next pan asks again.
  if (L.VectorGrid && L.VectorGrid.Protobuf) {
    var fetchTile = L.VectorGrid.Protobuf.prototype._getVectorTilePromise;
    L.VectorGrid.Protobuf.include({
      _getVectorTilePromise: function (coords, tileBounds) {
        return fetchTile.call(this, coords, tileBounds).catch(function () { return { layers: {} }; });
      }
    });
  }

  // Leaflet 1.8 removed L.DomEvent.fakeStop, which VectorGrid 1.3.0's canvas tiles call when a parcel is clicked,
  // and those tiles drop clicks and presses that hit no parcel (so the map, and a box being drawn, never see
  // them). This is Leaflet 1.9's own canvas logic: the parcel hit, if any, else the map.
  if (L.Canvas && L.Canvas.Tile) {
    L.Canvas.Tile.include({
      _onClick: function (e) {
        var point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset()), hit = null;
        for (var id in this._layers) {
          var layer = this._layers[id];
          if (layer.options.interactive && layer._containsPoint(point) && !this._map._draggableMoved(layer)) { hit = layer; }
        }
        this._fireEvent(hit ? [hit] : false, e);
      }
    });
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text != null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function number(value, digits, locale) {
    return Number(value).toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : '';
  }

  function parcelsLayer(map, opts) {
    var t = opts.labels;
    var stages = {};
    opts.stages.forEach(function (stage, index) { stage.index = index; stages[stage.key] = stage; });
    var filters = { stage: '', overdue: false };
    var selected = {};  // uid → properties

    function stageLabel(key) { return stages[key] ? stages[key].label : key; }

    function style(props) {
      var stage = stages[props.stage] || { colour: '#9e9e9e' };
      var picked = selected[props.uid];
      return {
        fill: true, fillColor: stage.colour, fillOpacity: picked ? 0.95 : 0.8,
        color: picked ? '#ff6f00' : (props.overdue ? '#b42318' : '#37474f'),
        weight: picked ? 3 : (props.overdue ? 2 : 0.7), opacity: 1
      };
    }

    function tileUrl() {
      var query = [];
      if (filters.stage) { query.push('stage=' + encodeURIComponent(filters.stage)); }
      if (filters.overdue) { query.push('overdue=true'); }
      return opts.url + (query.length ? '?' + query.join('&') : '');
    }

    map.createPane('khgeo-parcels');
    map.getPane('khgeo-parcels').style.zIndex = 450;  // over the zones' fill: at these zooms the parcels are the map
    map.createPane('khgeo-selection');
    map.getPane('khgeo-selection').style.zIndex = 460;  // the selection box over the parcels
    var layer = L.vectorGrid.protobuf(tileUrl(), {
      pane: 'khgeo-parcels',
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: { parcels: style },
      interactive: true,
      getFeatureId: function (feature) { return feature.properties.uid; },
      minZoom: opts.minZoom,
      maxNativeZoom: opts.maxNativeZoom,
      fetchOptions: { credentials: 'same-origin' }
    });

    // a tile with no parcel lets clicks through to the zones under it
    layer.on('tileload', function (event) {
      var tile = layer._vectorTiles[layer._tileCoordsToKey(event.coords)];
      var empty = !tile || Object.keys(tile._features).length === 0;
      event.tile.style.pointerEvents = empty ? 'none' : 'auto';
    });

    // parcels in the tiles of the current zoom: uid → {props, bounds} (a parcel cut by tile edges is joined)
    function parcelsInView() {
      var found = {};
      Object.keys(layer._vectorTiles).forEach(function (key) {
        var tile = layer._vectorTiles[key];
        if (!layer._tiles[key] || !tile._map) { return; }
        var coords = tile.getCoord();
        if (coords.z !== layer._tileZoom) { return; }
        var origin = coords.scaleBy(layer.getTileSize());
        Object.keys(tile._features).forEach(function (uid) {
          var feature = tile._features[uid].feature;
          var box = feature._pxBounds;
          if (!box) { return; }
          var sw = map.unproject(origin.add(L.point(box.min.x, box.max.y)), coords.z);
          var ne = map.unproject(origin.add(L.point(box.max.x, box.min.y)), coords.z);
          if (found[uid]) { found[uid].bounds.extend(sw).extend(ne); } else {
            found[uid] = { props: feature.properties, bounds: L.latLngBounds(sw, ne) };
          }
        });
      });
      return found;
    }

    function announce() {
      var count = Object.keys(parcelsInView()).length;
      document.documentElement.setAttribute('data-parcels-count', String(count));
      document.documentElement.setAttribute('data-parcels-ready', 'true');
      khgeo.parcels.readyAt = global.performance.now();
      layer.fire('khgeo:parcels', { count: count });
    }
    layer.on('loading', function () { document.documentElement.removeAttribute('data-parcels-ready'); });
    layer.on('load', function () { global.requestAnimationFrame(announce); });

    // -- tooltip and popup ---------------------------------------------------------------------------------
    function title(props) { return fill(t.tooltip, { sheet: props.sheet, number: props.number }); }

    function daysText(props) {
      return props.days == null ? '' : fill(t.days, { days: Number(props.days).toLocaleString(t.locale) });
    }

    function tooltipBox(props) {
      var box = el('div', null, 'khgeo-tooltip khgeo-parcel-tooltip');
      box.appendChild(el('strong', title(props)));
      box.appendChild(el('div', stageLabel(props.stage)));
      if (props.days != null) { box.appendChild(el('div', daysText(props))); }
      if (props.overdue) { box.appendChild(el('div', t.overdue, 'khgeo-overdue')); }
      return box;
    }

    function link(text, href, className) {
      var a = el('a', text, className);
      a.href = href;
      return a;
    }

    function popupBox(props) {
      var box = el('div', null, 'khgeo-parcel-popup');
      box.setAttribute('data-uid', props.uid);
      box.appendChild(el('h3', title(props)));
      var list = el('dl');
      function row(label, value, className) {
        list.appendChild(el('dt', label));
        list.appendChild(el('dd', value, className));
      }
      row(t.stage, stageLabel(props.stage) + (props.days != null ? ' — ' + daysText(props) : ''));
      if (props.overdue) { row('', t.overdue, 'khgeo-overdue'); }
      if (props.area_m2 != null) { row(t.area, number(props.area_m2, 1, t.locale) + ' m²'); }
      if (props.zone) {
        list.appendChild(el('dt', t.zone));
        var dd = el('dd');
        dd.appendChild(link(props.zone, opts.zoneUrl.replace('__code__', encodeURIComponent(props.zone))));
        list.appendChild(dd);
      }
      row(t.uid, props.uid, 'khgeo-mono');
      box.appendChild(list);
      var actions = el('p', null, 'actions');
      // the parcel's page holds its history and, for those who may, its update form
      var page = opts.parcelUrl.replace('__uid__', encodeURIComponent(props.uid));
      actions.appendChild(opts.canUpdate ? link(t.update, page, 'button khgeo-parcel-open khgeo-parcel-update') : link(t.open, page, 'khgeo-parcel-open'));
      box.appendChild(actions);
      return box;
    }

    var tooltip = null;
    layer.on('mouseover', function (event) {
      if (!event.layer || !event.layer.properties) { return; }
      if (tooltip) { map.closeTooltip(tooltip); }
      tooltip = L.tooltip({ direction: 'top', offset: [0, -8], className: 'khgeo-parcel-tip' })
        .setLatLng(event.latlng).setContent(tooltipBox(event.layer.properties));
      map.openTooltip(tooltip);
    });
    layer.on('mouseout', function () { if (tooltip) { map.closeTooltip(tooltip); tooltip = null; } });
    layer.on('click', function (event) {
      if (!event.layer || !event.layer.properties || selecting) { return; }
      if (tooltip) { map.closeTooltip(tooltip); tooltip = null; }
      L.popup({ maxWidth: 320, minWidth: 200, className: 'khgeo-zone-popup' })
        .setLatLng(event.latlng).setContent(popupBox(event.layer.properties)).openOn(map);
    });

    // -- legend, filters and the selection tool -----------------------------------------------------------
    var legend = el('details', null, 'khgeo-legend khgeo-parcels-legend leaflet-bar');
    // folded at first on a phone; small maps (a zone's page) have it under the map, where it hides nothing
    legend.open = !global.matchMedia('(max-width: 700px)').matches;
    if (opts.outside) { legend.className = 'khgeo-legend khgeo-legend-outside khgeo-parcels-legend'; }
    legend.appendChild(el('summary', t.title));
    var swatches = el('ul');
    opts.stages.forEach(function (stage) {
      var item = el('li');
      var swatch = el('span', null, 'khgeo-swatch');
      swatch.style.backgroundColor = stage.colour;
      item.appendChild(swatch);
      item.appendChild(el('span', stage.label));
      swatches.appendChild(item);
    });
    var overdueItem = el('li');
    overdueItem.appendChild(el('span', null, 'khgeo-swatch khgeo-swatch-overdue'));
    overdueItem.appendChild(el('span', t.overdue));
    swatches.appendChild(overdueItem);
    legend.appendChild(swatches);

    var filterBox = el('div', null, 'khgeo-parcel-filters');
    var stageSelect = el('select');
    stageSelect.name = 'parcel_stage';
    stageSelect.setAttribute('aria-label', t.stage);
    stageSelect.appendChild(new Option(t.all_stages, ''));
    opts.stages.forEach(function (stage) { stageSelect.appendChild(new Option(stage.label, stage.key)); });
    var overdueLabel = el('label');
    var overdueBox = el('input');
    overdueBox.type = 'checkbox';
    overdueBox.name = 'parcel_overdue';
    overdueLabel.appendChild(overdueBox);
    overdueLabel.appendChild(document.createTextNode(' ' + t.only_overdue));
    filterBox.appendChild(stageSelect);
    filterBox.appendChild(overdueLabel);
    legend.appendChild(filterBox);
    function refilter() {
      filters.stage = stageSelect.value;
      filters.overdue = overdueBox.checked;
      layer.setUrl(tileUrl());
    }
    stageSelect.addEventListener('change', refilter);
    overdueBox.addEventListener('change', refilter);

    var zoomHint = el('p', t.zoom_in, 'khgeo-legend-note khgeo-parcels-hint');
    legend.appendChild(zoomHint);

    var selectButton = null;
    if (opts.canUpdate && L.Draw && L.Draw.Rectangle) {
      selectButton = el('button', t.select, 'khgeo-parcel-select');
      selectButton.type = 'button';
      legend.appendChild(selectButton);
    }

    if (opts.outside) {
      var container = map.getContainer();
      container.parentNode.insertBefore(legend, container.nextSibling);
    } else {
      var control = L.control({ position: 'bottomright' });
      control.onAdd = function () {
        L.DomEvent.disableClickPropagation(legend);
        L.DomEvent.disableScrollPropagation(legend);
        return legend;
      };
      control.addTo(map);
    }

    function onZoom() {
      var visible = map.getZoom() >= opts.minZoom;
      zoomHint.hidden = visible;
      filterBox.hidden = !visible;
      if (selectButton) { selectButton.hidden = !visible; }
      map.getContainer().classList.toggle('khgeo-parcel-zoom', visible);
    }
    map.on('zoomend', onZoom);
    onZoom();

    // The selection: a box drawn with Leaflet.draw's rectangle; the parcels whose middle lies in it are listed,
    // then one request sets their stage. Each parcel is saved or refused on its own (the response says which).
    var selecting = false, box = null, panel = null;
    var drawer = selectButton ? new L.Draw.Rectangle(map, {
      shapeOptions: { color: '#ff6f00', weight: 2, fillOpacity: 0.08, pane: 'khgeo-selection' }, showArea: false
    }) : null;

    function clearSelection() {
      var uids = Object.keys(selected);
      selected = {};
      uids.forEach(function (uid) { layer.resetFeatureStyle(uid); });
      if (box) { box.remove(); box = null; }
      if (panel) { panel.remove(); panel = null; }
    }

    if (selectButton) {
      selectButton.addEventListener('click', function () {
        clearSelection();
        map.closePopup();
        selecting = true;
        // while the box is drawn, the parcels' canvases let the mouse through to the map (they would pass only
        // one move in 32 ms on, so the box would end where the pointer was a moment before it was let go)
        map.getContainer().classList.add('khgeo-selecting');
        drawer.enable();
      });
      map.on(L.Draw.Event.CREATED, function (event) {
        if (!selecting) { return; }
        selecting = false;
        box = event.layer;
        var area = box.getBounds();
        var inView = parcelsInView();
        var picked = Object.keys(inView).filter(function (uid) { return area.contains(inView[uid].bounds.getCenter()); })
          .map(function (uid) { return inView[uid].props; });
        picked.sort(function (a, b) {
          return String(a.sheet).localeCompare(String(b.sheet), undefined, { numeric: true }) ||
            String(a.number).localeCompare(String(b.number), undefined, { numeric: true });
        });
        picked.forEach(function (props) { selected[props.uid] = props; layer.setFeatureStyle(props.uid, style(props)); });
        showPanel(picked);
      });
      map.on('draw:drawstop', function () {
        selecting = false;
        map.getContainer().classList.remove('khgeo-selecting');
      });
    }

    function field(labelText, input) {
      var label = el('label', labelText);
      label.appendChild(input);
      return label;
    }

    function showPanel(picked) {
      panel = el('section', null, 'khgeo-parcel-panel');
      panel.setAttribute('aria-live', 'polite');
      var heading = el('h3', picked.length ? fill(t.selected, { n: picked.length.toLocaleString(t.locale) }) : t.none_selected);
      panel.appendChild(heading);
      var close = el('button', '×', 'khgeo-panel-close');
      close.type = 'button';
      close.setAttribute('aria-label', t.cancel);
      close.addEventListener('click', clearSelection);
      panel.appendChild(close);
      var list = el('ol', null, 'khgeo-parcel-list');
      picked.forEach(function (props) {
        var item = el('li', title(props) + ' — ' + stageLabel(props.stage));
        item.setAttribute('data-uid', props.uid);
        list.appendChild(item);
      });
      panel.appendChild(list);
      if (picked.length) { panel.appendChild(batchForm(picked)); }
      L.DomEvent.disableClickPropagation(panel);
      L.DomEvent.disableScrollPropagation(panel);
      map.getContainer().appendChild(panel);
    }

    function batchForm(picked) {
      var form = el('form', null, 'khgeo-batch-form');
      var stage = el('select');
      stage.name = 'stage';
      stage.required = true;
      var furthest = Math.max.apply(null, picked.map(function (p) { return stages[p.stage] ? stages[p.stage].index : 0; }));
      opts.stages.forEach(function (s) { stage.appendChild(new Option(s.label, s.key, false, s.index === Math.min(furthest + 1, opts.stages.length - 1))); });
      var date = el('input'); date.type = 'date'; date.name = 'date'; date.required = true;
      date.value = opts.today || '';
      if (opts.today) { date.max = opts.today; }
      var docNumber = el('input'); docNumber.name = 'document_number'; docNumber.maxLength = 100;
      var docDate = el('input'); docDate.type = 'date'; docDate.name = 'document_date';
      if (opts.today) { docDate.max = opts.today; }
      var signer = el('input'); signer.name = 'document_signer'; signer.maxLength = 200;
      var note = el('textarea'); note.name = 'note'; note.rows = 2; note.maxLength = 2000;
      [field(t.set_stage, stage), field(t.date, date), field(t.doc_number, docNumber), field(t.doc_date, docDate),
        field(t.doc_signer, signer), field(t.note, note)].forEach(function (node) { form.appendChild(node); });
      var actions = el('p', null, 'actions');
      var save = el('button', t.save); save.type = 'submit';
      var cancel = el('button', t.cancel, 'secondary'); cancel.type = 'button';
      cancel.addEventListener('click', clearSelection);
      actions.appendChild(save); actions.appendChild(document.createTextNode(' ')); actions.appendChild(cancel);
      form.appendChild(actions);
      var result = el('div', null, 'khgeo-batch-result');
      result.setAttribute('role', 'status');
      form.appendChild(result);
      var key = global.crypto && global.crypto.randomUUID ? global.crypto.randomUUID() : '';
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        save.disabled = true;
        result.textContent = t.saving;
        var body = {
          parcels: picked.map(function (p) { return { uid: p.uid, version: p.version }; }),
          stage: stage.value, date: date.value,
          document: { number: docNumber.value.trim(), date: docDate.value || null, signer: signer.value.trim() },
          note: note.value.trim()
        };
        var headers = { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() };
        if (key) { headers['Idempotency-Key'] = key; }
        fetch(opts.batchUrl, { method: 'POST', credentials: 'same-origin', headers: headers, body: JSON.stringify(body) })
          .then(function (response) {
            if (response.status === 404 || response.status === 405) { throw new Error(t.unavailable); }
            return response.json().catch(function () { return {}; }).then(function (data) {
              if (!response.ok) {
                var message = (data.error && data.error.message) || String(response.status);
                throw new Error(fill(t.failed, { message: message }));
              }
              return data;
            });
          })
          .then(function (data) { showResult(result, data, picked); save.disabled = false; key = global.crypto && global.crypto.randomUUID ? global.crypto.randomUUID() : ''; })
          .catch(function (error) { result.textContent = error.message; save.disabled = false; });
      });
      return form;
    }

    function showResult(result, data, picked) {
      var byUid = {};
      picked.forEach(function (p) { byUid[p.uid] = p; });
      result.textContent = '';
      var saved = data.saved || [], conflicts = data.conflicts || [];
      result.appendChild(el('p', fill(t.saved, { n: saved.length.toLocaleString(t.locale) }), 'khgeo-batch-saved'));
      saved.forEach(function (s) { if (byUid[s.uid]) { byUid[s.uid].version = s.version; } });
      if (conflicts.length) {
        result.appendChild(el('p', fill(t.conflicts, { n: conflicts.length.toLocaleString(t.locale) })));
        var list = el('ul', null, 'khgeo-batch-conflicts');
        conflicts.forEach(function (c) {
          var props = byUid[c.uid];
          var item = el('li', (props ? title(props) : c.uid) + ': ' + (c.reason || ''));
          item.setAttribute('data-uid', c.uid);
          list.appendChild(item);
        });
        result.appendChild(list);
      }
      // the tiles' ETags changed with the parcels: draw them again, in their new stages' colours
      var uids = Object.keys(selected);
      selected = {};
      uids.forEach(function (uid) { layer.resetFeatureStyle(uid); });
      if (box) { box.remove(); box = null; }
      layer.redraw();
    }

    layer.addTo(map);
    khgeo.parcels = { layer: layer, inView: parcelsInView, readyAt: null, selected: function () { return Object.keys(selected); } };
    return layer;
  }

  global.khgeo.parcelsLayer = parcelsLayer;
}(window));
