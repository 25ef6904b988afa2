/* On a phone the map matters more than the filter form: fold the form away unless a filter is active. */
(function () {
  'use strict';
  var box = document.querySelector('details.filters-box');
  if (box && window.matchMedia('(max-width: 700px)').matches && !box.hasAttribute('data-active')) {
    box.open = false;
  }
}());

/* On a phone the map and the zone list take turns on the screen: a Map / List switch above them. */
(function () {
  'use strict';
  var panes = document.querySelector('.map-and-list');
  var buttons = document.querySelectorAll('.view-switch button[data-view]');
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener('click', function () {
      var list = button.getAttribute('data-view') === 'list';
      panes.classList.toggle('show-list', list);
      Array.prototype.forEach.call(buttons, function (other) { other.setAttribute('aria-pressed', String(other === button)); });
      if (!list) { window.dispatchEvent(new Event('resize')); }  // Leaflet measures the map again
    });
  });
}());
