/* Site clearance and infrastructure completion over time on the zone page (Chart.js, vendored). */
(function () {
  'use strict';
  var data = document.getElementById('zone-series');
  var canvas = document.getElementById('zone-chart');
  if (!data || !canvas || !window.Chart) { return; }
  var spec = JSON.parse(data.textContent);
  var dates = spec.series.dates.map(function (iso) { var p = iso.split('-'); return p[2] + '/' + p[1] + '/' + p[0]; });
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels: dates,
      datasets: [
        // Okabe–Ito vermillion and blue; the clearance line is also dashed, so the two differ without colour
        { label: spec.labels.clearance, data: spec.series.clearance_pct, borderColor: '#d55e00', borderDash: [6, 4], spanGaps: true },
        { label: spec.labels.infrastructure, data: spec.series.infrastructure_pct, borderColor: '#0072b2', spanGaps: true }
      ]
    },
    options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: '%' } } } }
  });
}());
