/* Site clearance % over time for the zones the plan names (Chart.js, vendored). */
(function () {
  'use strict';
  var data = document.getElementById('planning-series');
  var canvas = document.getElementById('planning-chart');
  if (!data || !canvas || !window.Chart) { return; }
  var spec = JSON.parse(data.textContent);
  // the Okabe–Ito qualitative set (Okabe & Ito 2008), black moved up and yellow last (faint on white)
  var palette = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];
  var dates = {};
  spec.series.forEach(function (s) { s.points.forEach(function (p) { dates[p[0]] = true; }); });
  var labels = Object.keys(dates).sort();
  new window.Chart(canvas, {
    type: 'line',
    data: {
      labels: labels.map(function (iso) { var p = iso.split('-'); return p[2] + '/' + p[1] + '/' + p[0]; }),
      datasets: spec.series.map(function (s, i) {
        var byDate = {};
        s.points.forEach(function (p) { byDate[p[0]] = p[1]; });
        return { label: s.name, data: labels.map(function (d) { return d in byDate ? byDate[d] : null; }),
          borderColor: palette[i % palette.length], spanGaps: true };
      })
    },
    options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: '%' } } } }
  });
}());
