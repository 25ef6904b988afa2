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
        { label: spec.labels.clearance, data: spec.series.clearance_pct, borderColor: '#d73027', spanGaps: true },
        { label: spec.labels.infrastructure, data: spec.series.infrastructure_pct, borderColor: '#1a9850', spanGaps: true }
      ]
    },
    options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: '%' } } } }
  });
}());
