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

  function safeClass(code) { return String(code).toLowerCase().replace(/[^a-z0-9-]/g, '_'); }

  function zonesLayer(opts) {
    var layer = L.geoJSON(null, {
      renderer: opts.canvas ? L.canvas({ padding: 0.5, tolerance: 3 }) : undefined,
      style: function (feature) {
        var cls = classify(opts.indicator, feature.properties);
        return {
          color: '#263238', weight: 1.2, opacity: 0.9,
          fillColor: cls.colour, fillOpacity: 0.72,
          dashArray: feature.properties.geometry_source === 'illustrative' ? '5 4' : null
        };
      },
      onEachFeature: function (feature, featureLayer) {
        var props = feature.properties;
        props.search_label = props.kind + ' ' + props.name;
        featureLayer.options.className = 'khgeo-zone khgeo-kind-' + safeClass(props.kind) +
          ' khgeo-zone-' + safeClass(props.code);
        featureLayer.bindTooltip(function () { return tooltip(props, opts); }, { sticky: true });
        featureLayer.bindPopup(function () { return popup(props, opts, featureLayer); },
          { maxWidth: 340, minWidth: 240, autoPanPadding: [20, 20] });
      }
    });
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
          radius: 5, weight: 1, color: '#263238', fillColor: cls.colour, fillOpacity: 0.9,
          interactive: false, className: 'khgeo-zone-marker'
        }));
      });
    }
    function toggleMarkers() {
      var map = layer._map;
      if (!map) { return; }
      if (map.getZoom() < MARKER_MAX_ZOOM) { markers.addTo(map); } else { markers.remove(); }
    }
    layer.on('add', function () { layer._map.on('zoomend', toggleMarkers); toggleMarkers(); });
    layer.on('remove', function () { markers.remove(); });
    layer.on('khgeo:loaded', function () { if (!opts.canvas) { addMarkers(); toggleMarkers(); } });

    khgeo.pending += 1;
    if (opts.data) {
      layer.addData(opts.data);
      loaded(drawable(opts.data));
    } else if (opts.url) {
      fetch(opts.url, { credentials: 'same-origin', headers: { Accept: 'application/geo+json' } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (collection) { layer.addData(collection); loaded(drawable(collection)); })
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

  function districtsLayer(collection) {
    return L.geoJSON(collection, {
      interactive: true,
      style: function () { return { color: '#5d4037', weight: 1.5, dashArray: '6 4', fill: false }; },
      onEachFeature: function (feature, featureLayer) {
        featureLayer.bindTooltip(function () { return el('span', feature.properties.name); }, { sticky: true });
      }
    });
  }

  function legend(map, indicator) {
    var control = L.control({ position: 'bottomright' });
    control.onAdd = function () {
      var box = el('div', null, 'khgeo-legend leaflet-bar');
      box.appendChild(el('strong', indicator.label));
      var list = el('ul');
      indicator.classes.forEach(function (cls) {
        var item = el('li');
        var swatch = el('span', null, 'khgeo-swatch');
        swatch.style.background = cls.colour;
        item.appendChild(swatch);
        item.appendChild(el('span', cls.label));
        list.appendChild(item);
      });
      box.appendChild(list);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control.addTo(map);
  }

  function searchFilter(text, records) {
    var wanted = fold(text);
    var found = {};
    Object.keys(records).forEach(function (key) {
      var props = records[key].layer && records[key].layer.feature ? records[key].layer.feature.properties : {};
      var names = [key, props.name, props.code].concat(props.aliases || []);
      if (names.some(function (name) { return fold(name).indexOf(wanted) !== -1; })) { found[key] = records[key]; }
    });
    return found;
  }

  // leaflet-search puts a result's text into the list as HTML: a zone named "<img onerror=…>" would become markup
  function searchTip(text) {
    var tip = L.DomUtil.create('li', '');
    tip.textContent = text;
    return tip;
  }

  function searchMoveTo(latlng, title, map) {
    map.fitBounds(latlng.layer.getBounds(), { maxZoom: 15 });
    latlng.layer.openPopup();
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
    outlineEditor: outlineEditor,
    searchFilter: searchFilter, searchMoveTo: searchMoveTo, searchTip: searchTip, drawn: 0, pending: 0
  };
  global.khgeo = khgeo;
}(window));
