/* On a phone the header's links fold into a menu: one button opens and closes it. */
(function () {
  'use strict';
  var button = document.querySelector('.topbar .menu-toggle');
  if (!button) { return; }
  button.addEventListener('click', function () {
    var open = button.closest('.topbar').classList.toggle('open');
    button.setAttribute('aria-expanded', String(open));
  });
}());
