/* On a phone the map matters more than the filter form: fold the form away unless a filter is active. */
(function () {
  'use strict';
  var box = document.querySelector('details.filters-box');
  if (box && window.matchMedia('(max-width: 700px)').matches && !box.hasAttribute('data-active')) {
    box.open = false;
  }
}());
