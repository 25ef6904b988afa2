/* khgeo map layer: draws zones from embedded or fetched GeoJSON, coloured by an indicator spec from the server.
 * Every string that comes from data is put into the page as a text node, never as HTML.
 * Popups are HTML fragments rendered (and escaped) by the server, fetched on click.
 */
(function (global) {
  'use strict';

  function fold(text) {
    return String(text == null ? '' : text)
      .replace(/đ/g, 'd').replace(/Đ/g, 'D')
      .normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .toLowerCase().replace(/\s+/g, ' ').trim();
  }

  function matches(test, value, props) {
    if ('flag' in test) { return value == null && !!props[test.flag]; }
    if ('equals' in test) { return value === test.equals; }
    if ('min' in test) {
      if (value == null) { return false; }
      var number = Number(value);
      return test.min <= number && (!('max' in test) || number < test.max);
    }
    return true;
  }

  function classify(indicator, props) {
    var value = props[indicator.property];
    for (var i = 0; i < indicator.classes.length; i++) {
      if (matches(indicator.classes[i].test, value, props)) { return indicator.classes[i]; }
    }
    return indicator.classes[indicator.classes.length - 1];
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text != null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function indicatorText(indicator, props, labels) {
    var value = props[indicator.property];
    var cls = classify(indicator, props);
    if (value == null) { return indicator.label + ': ' + cls.label; }
    if (indicator.unit === '%') { return indicator.label + ': ' + Number(value).toLocaleString(labels.locale) + ' %'; }
    return indicator.label + ': ' + cls.label;
  }

  function tooltip(props, opts) {
    var box = el('div', null, 'khgeo-tooltip');
    box.appendChild(el('strong', props.kind + ' ' + props.name));
    if (props.district) { box.appendChild(el('div', props.district)); }
    box.appendChild(el('div', indicatorText(opts.indicator, props, opts.labels)));
    if (props.geometry_source === 'illustrative') { box.appendChild(el('div', opts.labels.illustrative, 'khgeo-muted')); }
    return box;
  }

  // One content box per feature, filled once from the server; Leaflet calls the content function again on
  // every update(), so it must hand back the same box rather than start another request.
  function popup(props, opts, layer) {
    if (layer._khgeoPopupBox) { return layer._khgeoPopupBox; }
    var box = el('div', opts.labels.loading, 'khgeo-popup');
    layer._khgeoPopupBox = box;
    var url = opts.popupUrl.replace('__code__', encodeURIComponent(props.code));
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        box.textContent = '';
        box.insertAdjacentHTML('afterbegin', html); // server-rendered, autoescaped fragment
        if (layer.isPopupOpen()) { layer.getPopup().update(); }
      })
      .catch(function () {
        box.textContent = opts.labels.popup_failed;
        layer._khgeoPopupBox = null; // the next click tries again
      });
    return box;
  }

  // features without a known location (null geometry) are listed beside the map but not drawn
  function drawable(collection) {
    return collection.features.filter(function (feature) { return feature.geometry; }).length;
  }

  // "No figure" classes are hatched: an SVG pattern per colour, defined once in the page (SVG renderer); the
  // canvas renderer (very large maps) cannot fill with a pattern and draws them faint instead.
  function hatch(colour) {
    var id = 'khgeo-hatch-' + colour.replace(/[^0-9a-fA-F]/g, '');
    if (!document.getElementById(id)) {
      var ns = 'http://www.w3.org/2000/svg';
      var defs = document.getElementById('khgeo-patterns');
      if (!defs) {
        var svg = document.createElementNS(ns, 'svg');
        svg.setAttribute('width', '0'); svg.setAttribute('height', '0');
        svg.setAttribute('aria-hidden', 'true');
        svg.style.position = 'absolute';
        defs = document.createElementNS(ns, 'defs');
        defs.id = 'khgeo-patterns';
        svg.appendChild(defs);
        document.body.appendChild(svg);
      }
      var pattern = document.createElementNS(ns, 'pattern');
      pattern.id = id;
      pattern.setAttribute('patternUnits', 'userSpaceOnUse');
      pattern.setAttribute('width', '6'); pattern.setAttribute('height', '6');
      pattern.setAttribute('patternTransform', 'rotate(45)');
      var back = document.createElementNS(ns, 'rect');
      back.setAttribute('width', '6'); back.setAttribute('height', '6'); back.setAttribute('fill', colour);
      var line = document.createElementNS(ns, 'rect');
      line.setAttribute('width', '2'); line.setAttribute('height', '6'); line.setAttribute('fill', '#4d4d4d');
      pattern.appendChild(back); pattern.appendChild(line);
      defs.appendChild(pattern);
    }
    return 'url(#' + id + ')';
  }

  function fill(cls, canvas) { return cls.pattern && !canvas ? hatch(cls.colour) : cls.colour; }

  function safeClass(code) { return String(code).toLowerCase().replace(/[^a-z0-9-]/g, '_'); }

  function zonesLayer(opts) {
    var layer = L.geoJSON(null, {
      renderer: opts.canvas ? L.canvas({ padding: 0.5, tolerance: 3 }) : undefined,
      style: function (feature) {
        var cls = classify(opts.indicator, feature.properties);
        return {
          color: '#263238', weight: 1.2, opacity: 0.9,
          fillColor: fill(cls, opts.canvas), fillOpacity: cls.pattern && opts.canvas ? 0.35 : 0.72,
          dashArray: feature.properties.geometry_source === 'illustrative' ? '5 4' : null
        };
      },
      onEachFeature: function (feature, featureLayer) {
        var props = feature.properties;
        props.search_label = props.kind + ' ' + props.name;
        featureLayer.options.className = 'khgeo-zone khgeo-kind-' + safeClass(props.kind) +
          ' khgeo-zone-' + safeClass(props.code);
        featureLayer.bindTooltip(function () { return tooltip(props, opts); }, { sticky: true });
        featureLayer.bindPopup(function () { return popup(props, opts, featureLayer); }, {
          maxWidth: 340, minWidth: 200, className: 'khgeo-zone-popup',
          // clear of the controls: the left column (zoom, search, …) and the layers button at the top right
          autoPanPaddingTopLeft: [POPUP_PAD_LEFT, POPUP_PAD_TOP], autoPanPaddingBottomRight: [10, POPUP_PAD_BOTTOM]
        });
      }
    });
    function counted(collection) {
      collection.features.forEach(function (feature) {
        if (classify(opts.indicator, feature.properties).pattern) { khgeo.noFigure += 1; }
        if (!feature.geometry) { khgeo.unlocated.push(feature.properties); }
      });
      khgeo.legends.forEach(function (update) { update(); });
    }
    function loaded(count) {
      // a frame later the features are painted: benchmarks and tests wait for this
      global.requestAnimationFrame(function () {
        khgeo.drawn += count;
        khgeo.pending -= 1;
        document.documentElement.setAttribute('data-zones-drawn', String(khgeo.drawn));
        if (khgeo.pending === 0) {
          khgeo.readyAt = global.performance.now();
          document.documentElement.setAttribute('data-zones-ready', 'true');
        }
        layer.fire('khgeo:loaded', { count: count });
      });
    }
    // Small zones are a few pixels wide at province scale: below MARKER_MAX_ZOOM each also gets a dot of its
    // colour at its centre (visual only; the outline stays the thing to click). Skipped for large canvas maps.
    var markers = L.layerGroup();
    var MARKER_MAX_ZOOM = 12;
    function addMarkers() {
      layer.eachLayer(function (featureLayer) {
        var cls = classify(opts.indicator, featureLayer.feature.properties);
        markers.addLayer(L.circleMarker(featureLayer.getBounds().getCenter(), {
          radius: 5, weight: 1, color: '#263238', fillColor: fill(cls, false), fillOpacity: 0.9,
          interactive: false, className: 'khgeo-zone-marker'
        }));
      });
    }
    function toggleMarkers() {
      var map = layer._map;
      if (!map) { return; }
      if (map.getZoom() < MARKER_MAX_ZOOM) { markers.addTo(map); } else { markers.remove(); }
    }
    layer.on('add', function () {
      layer._map.on('zoomend', toggleMarkers);
      toggleMarkers();
      fitPopups(layer._map);
      locateNearZones(layer._map);
    });
    layer.on('remove', function () { markers.remove(); });
    layer.on('khgeo:loaded', function () { if (!opts.canvas) { addMarkers(); toggleMarkers(); } });

    khgeo.pending += 1;
    if (opts.data) {
      layer.addData(opts.data);
      counted(opts.data);
      loaded(drawable(opts.data));
    } else if (opts.url) {
      fetch(opts.url, { credentials: 'same-origin', headers: { Accept: 'application/geo+json' } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (collection) { layer.addData(collection); counted(collection); loaded(drawable(collection)); })
        .catch(function (error) {
          khgeo.pending -= 1;
          var note = document.getElementById('khgeo-map-error');
          if (note) { note.hidden = false; note.textContent = opts.labels.load_failed + ' (' + error.message + ')'; }
        });
    } else {
      loaded(0);
    }
    return layer;
  }

  // a boundary layer: the 2022 districts (dashed) or, with its own style, the 2025 communes and wards
  function districtsLayer(collection, style) {
    var base = { color: '#5d4037', weight: 1.5, dashArray: '6 4', fill: false };
    Object.keys(style || {}).forEach(function (key) { base[key] = style[key]; });
    return L.geoJSON(collection, {
      interactive: true,
      style: function () { return base; },
      onEachFeature: function (feature, featureLayer) {
        featureLayer.bindTooltip(function () { return el('span', feature.properties.name); }, { sticky: true });
      }
    });
  }

  // The legend folds away (closed at first on a phone); on small maps it sits under the map, never over a zone.
  function legend(map, spec) {
    var indicator = spec.indicator;
    var labels = spec.labels || {};
    var box = el('details', null, 'khgeo-legend leaflet-bar');
    box.open = !spec.outside && !global.matchMedia('(max-width: 700px)').matches;
    if (spec.outside) { box.open = true; box.className = 'khgeo-legend khgeo-legend-outside'; }
    box.appendChild(el('summary', indicator.label));
    var list = el('ul');
    indicator.classes.forEach(function (cls) {
      var item = el('li');
      var swatch = el('span', null, 'khgeo-swatch' + (cls.pattern ? ' khgeo-swatch-hatch' : ''));
      swatch.style.backgroundColor = cls.colour;
      item.appendChild(swatch);
      item.appendChild(el('span', cls.label));
      list.appendChild(item);
    });
    box.appendChild(list);
    var note = el('p', null, 'khgeo-legend-note');
    box.appendChild(note);
    function update() {
      var n = khgeo.noFigure;
      note.textContent = (n === 1 ? labels.no_figure_one : labels.no_figure_many || '').replace('{n}', n.toLocaleString(labels.locale));
      note.hidden = !labels.no_figure_many;
    }
    khgeo.legends.push(update);
    update();
    if (spec.outside) {
      var container = map.getContainer();
      container.parentNode.insertBefore(box, container.nextSibling);
      return box;
    }
    var control = L.control({ position: 'bottomright' });
    control.onAdd = function () {
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    return control.addTo(map);
  }

  function searchFilter(text, records) {
    var wanted = fold(text);
    var found = {};
    var note = khgeo.l10n.no_location || '';
    khgeo.unlocated.forEach(function (props) {
      // zones with no outline are listed too, said to have no location (they cannot be shown on the map)
      records[props.kind + ' ' + props.name + ' — ' + note] = { unlocated: props, layer: null };
    });
    Object.keys(records).forEach(function (key) {
      var record = records[key];
      var props = record.unlocated || (record.layer && record.layer.feature ? record.layer.feature.properties : {});
      var names = [key, props.name, props.code].concat(props.aliases || []);
      if (names.some(function (name) { return fold(name).indexOf(wanted) !== -1; })) { found[key] = record; }
    });
    return found;
  }

  function searchTip(text) { return el('li', text); }  // a text node: zone names are typed by users

  function searchMoveTo(latlng, title, map) {
    if (latlng.unlocated) {
      this._alert.textContent = title;
      this._alert.style.display = 'block';
      return;
    }
    map.fitBounds(latlng.layer.getBounds(), { maxZoom: 15 });
    latlng.layer.openPopup();
  }

  var POPUP_PAD_LEFT = 54, POPUP_PAD_TOP = 64, POPUP_PAD_BOTTOM = 40;  // bottom: scale and attribution
  // A popup always fits in the map: its body scrolls within a height the map leaves, the zone's name and its
  // actions stay in view, and the controls at the bottom (drawing, legend, mini map) step aside while it is open.
  function fitPopups(map) {
    if (map._khgeoPopups) { return; }
    map._khgeoPopups = true;
    function fit(popup) {
      var size = map.getSize();
      var content = popup.getElement() && popup.getElement().querySelector('.popup');
      popup.options.maxWidth = Math.max(180, Math.min(340, size.x - POPUP_PAD_LEFT - 40));
      if (content) {
        var chrome = content.offsetHeight - ((content.querySelector('.popup-body') || {}).offsetHeight || 0);
        var room = size.y - POPUP_PAD_TOP - POPUP_PAD_BOTTOM - 20 /* tip */ - 30 /* wrapper padding */ - chrome;
        content.style.setProperty('--popup-body-max', Math.max(60, room) + 'px');
      }
    }
    map.on('popupopen', function (event) {
      map.getContainer().classList.add('khgeo-popup-open');
      fit(event.popup);
      event.popup.update();
    });
    map.on('popupclose', function () { map.getContainer().classList.remove('khgeo-popup-open'); });
    map.on('resize', function () { map.eachLayer(function (l) { if (l.isPopupOpen && l.isPopupOpen()) { fit(l.getPopup()); l.getPopup().update(); } }); });
    khgeo.fitPopup = fit;
  }

  // "My location" shows the zones near the user: the position and the nearest zones in view, never closer
  // than zoom 13 (the locate control itself does not move the map: setView is off).
  var NEAR_ZONES = 3, LOCATE_MAX_ZOOM = 13;
  function locateNearZones(map) {
    if (map._khgeoLocate) { return; }
    map._khgeoLocate = true;
    var fitted = false;
    map.on('locateactivate', function () { fitted = false; });
    map.on('locationfound', function (event) {
      if (fitted) { return; }
      fitted = true;
      var here = event.latlng;
      var zones = [];
      map.eachLayer(function (layer) {
        if (layer.feature && layer.getBounds && layer.feature.properties && layer.feature.properties.code) {
          var bounds = layer.getBounds();
          zones.push({ bounds: bounds, distance: here.distanceTo(bounds.getCenter()) });
        }
      });
      zones.sort(function (a, b) { return a.distance - b.distance; });
      var view = L.latLngBounds([here, here]);
      zones.slice(0, NEAR_ZONES).forEach(function (zone) { view.extend(zone.bounds); });
      map.fitBounds(view, { maxZoom: LOCATE_MAX_ZOOM, padding: [30, 30] });
    });
  }

  // Leaflet's and the plugins' own texts in the user's language, numbers in its format (1.234,5 m²).
  // Called by every map script before the map is made, so the controls are built with these texts.
  function localize(t) {
    khgeo.l10n = t;
    var number = function (value, digits) {
      return Number(value).toLocaleString(t.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    };
    L.Control.Zoom.prototype.options.zoomInTitle = t.zoom_in;
    L.Control.Zoom.prototype.options.zoomOutTitle = t.zoom_out;
    if (!L.Control.Layers.prototype._khgeoLocalized) {
      var initLayout = L.Control.Layers.prototype._initLayout;
      L.Control.Layers.prototype._initLayout = function () {
        initLayout.call(this);
        var toggle = this._container.querySelector('.leaflet-control-layers-toggle');
        if (toggle) { toggle.title = khgeo.l10n.layers; toggle.setAttribute('aria-label', khgeo.l10n.layers); }
      };
      L.Control.Layers.prototype._khgeoLocalized = true;
    }
    if (L.Control.Locate) {
      L.extend(L.Control.Locate.prototype.options.strings, {
        title: t.locate, metersUnit: t.metres, popup: t.locate_popup, outsideMapBoundsMsg: t.locate_outside
      });
      L.Control.Locate.prototype.options.onLocationError = function () {
        var note = document.getElementById('khgeo-map-error');
        if (note) { note.hidden = false; note.textContent = khgeo.l10n.locate_failed; } else { global.alert(khgeo.l10n.locate_failed); }
      };
    }
    if (L.Control.MiniMap) {
      L.Control.MiniMap.prototype.options.strings = { hideText: t.minimap_hide, showText: t.minimap_show };
    }
    if (L.Control.FullScreen) {
      L.Control.FullScreen.prototype.options.title = t.fullscreen;
      L.Control.FullScreen.prototype.options.titleCancel = t.exit_fullscreen;
    }
    if (L.drawLocal) {
      var draw = L.drawLocal.draw, edit = L.drawLocal.edit;
      draw.toolbar.actions = { title: t.draw_cancel_title, text: t.cancel };
      draw.toolbar.finish = { title: t.draw_finish_title, text: t.draw_finish };
      draw.toolbar.undo = { title: t.draw_undo_title, text: t.draw_undo };
      draw.toolbar.buttons.polyline = t.draw_polyline;
      draw.toolbar.buttons.polygon = t.draw_polygon;
      draw.toolbar.buttons.rectangle = t.draw_rectangle;
      draw.handlers.polyline.error = t.draw_crossing;
      draw.handlers.polyline.tooltip = { start: t.line_start, cont: t.line_cont, end: t.line_end };
      draw.handlers.polygon.tooltip = { start: t.shape_start, cont: t.shape_cont, end: t.shape_end };
      draw.handlers.rectangle.tooltip = { start: t.rectangle_start };
      draw.handlers.simpleshape.tooltip = { end: t.release_to_finish };
      edit.toolbar.actions = {
        save: { title: t.edit_save_title, text: t.edit_save },
        cancel: { title: t.edit_cancel_title, text: t.cancel },
        clearAll: { title: t.edit_clear_title, text: t.edit_clear }
      };
      edit.toolbar.buttons = { edit: t.edit_layers, editDisabled: t.edit_none, remove: t.remove_layers, removeDisabled: t.remove_none };
      edit.handlers.edit.tooltip = { text: t.edit_tip, subtext: t.edit_subtip };
      edit.handlers.remove.tooltip = { text: t.remove_tip };
    }
    if (L.GeometryUtil) {
      L.GeometryUtil.readableDistance = function (metres) {
        return metres >= 1000 ? number(metres / 1000, 2) + ' km' : number(metres, 1) + ' m';
      };
      L.GeometryUtil.readableArea = function (area) {
        return area >= 10000 ? number(area / 10000, 2) + ' ha' : number(area, 1) + ' m²';
      };
    }
  }

  // The admin's outline editor: each polygon part is its own layer (Leaflet.draw cannot edit multi-polygons),
  // and every change writes the whole outline back into the form's hidden field as a GeoJSON MultiPolygon.
  function outlineEditor(map, opts) {
    var group = L.featureGroup().addTo(map);
    var field = document.getElementById(opts.field);
    var style = { color: '#b42318', weight: 2, fillOpacity: 0.25 };
    if (opts.geometry) {
      var parts = opts.geometry.type === 'Polygon' ? [opts.geometry.coordinates] : opts.geometry.coordinates;
      parts.forEach(function (rings) {
        var latlngs = rings.map(function (ring) { return ring.map(function (p) { return [p[1], p[0]]; }); });
        L.polygon(latlngs, style).addTo(group);
      });
    }
    function write() {
      var coordinates = [];
      group.eachLayer(function (layer) {
        var geometry = layer.toGeoJSON(6).geometry;
        if (geometry.type === 'Polygon') { coordinates.push(geometry.coordinates); }
        if (geometry.type === 'MultiPolygon') { coordinates = coordinates.concat(geometry.coordinates); }
      });
      field.value = coordinates.length ? JSON.stringify({ type: 'MultiPolygon', coordinates: coordinates }) : '';
    }
    var control = new L.Control.Draw({
      edit: { featureGroup: group },
      draw: { polyline: false, circle: false, circlemarker: false, marker: false,
        polygon: { allowIntersection: false, showArea: true, shapeOptions: style }, rectangle: { shapeOptions: style } }
    });
    map.addControl(control);
    map.on(L.Draw.Event.CREATED, function (event) { group.addLayer(event.layer); write(); });
    map.on(L.Draw.Event.EDITED, write);
    map.on(L.Draw.Event.DELETED, write);
    khgeo.editor = { group: group, write: write };
    return group;
  }

  var khgeo = {
    fold: fold, classify: classify, zonesLayer: zonesLayer, districtsLayer: districtsLayer, legend: legend,
    outlineEditor: outlineEditor, localize: localize, searchTip: searchTip,
    searchFilter: searchFilter, searchMoveTo: searchMoveTo, drawn: 0, pending: 0,
    noFigure: 0, unlocated: [], legends: [], l10n: {}
  };
  global.khgeo = khgeo;
}(window));
