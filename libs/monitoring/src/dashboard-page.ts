// The dashboard: one static page; uPlot draws, server-sent events push a fresh snapshot every second.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>movie-stream monitor</title>
<link rel="stylesheet" href="/uPlot.min.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 6px; }
  .row { display: flex; gap: 24px; flex-wrap: wrap; }
  table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .OK, .up { color: #0a7d24; font-weight: 600; } .WARNING { color: #b26b00; font-weight: 600; }
  .STALLED, .STOPPED, .down { color: #c01818; font-weight: 600; }
  #conn { color: #777; }
</style>
</head>
<body>
<h1>movie-stream monitor</h1>
<div id="conn">connecting…</div>
<h2>Throughput (messages/s, from the meta topics)</h2>
<div id="throughput"></div>
<h2>Consumer lag (messages)</h2>
<div id="lag"></div>
<div class="row">
  <div><h2>Consumer groups</h2><table id="groups"><thead><tr><th>group</th><th>status</th><th>lag</th><th>state</th><th>why</th></tr></thead><tbody></tbody></table></div>
  <div><h2>Brokers</h2><table id="brokers"><thead><tr><th>broker</th><th>node</th><th>up</th><th>in metadata</th></tr></thead><tbody></tbody></table></div>
  <div><h2>Topics</h2><table id="topics"><thead><tr><th>topic</th><th>partitions</th><th>messages</th></tr></thead><tbody></tbody></table></div>
</div>
<script src="/uPlot.iife.min.js"></script>
<script>
const FEW_POINTS = 60;
const COLORS = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
const dashboard = (window.dashboard = { throughput: null, lag: null, last: null, updates: 0 });
const width = () => Math.max(400, Math.min(1200, window.innerWidth - 40));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

// Aligns [[t, y], ...] lines on one x axis (seconds), null where a line has no point.
function align(lines) {
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => { const y = new Array(xs.length).fill(null); for (const [t, v] of l.points) y[idx.get(t)] = v; return y; });
  return [xs.map((x) => x / 1000), ...ys];
}

function draw(name, lines, el) {
  const labels = lines.map((l) => l.label).join('|');
  const data = align(lines);
  let chart = dashboard[name];
  if (chart && chart._labels === labels) { chart.setData(data); return; }
  if (chart) chart.destroy();
  chart = new uPlot({
    width: width(), height: 260,
    // A short run has only a few seconds: draw each one as a point too, so it can be read off.
    series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: name === 'lag',
      points: { show: (u, si, i0, i1) => i1 - i0 < FEW_POINTS, size: 6, fill: COLORS[i % COLORS.length] } }))],
    // At least the last minute on the x axis: with a single point uPlot would otherwise span years.
    // (computed from the data itself: uPlot widens a single point's min/max before calling range)
    scales: { x: { time: true, range: (u) => {
      const xs = u.data[0];
      const max = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
      return [Math.min(xs.length ? xs[0] : max, max - 60), max + 1];
    } } },
    axes: [{}, { size: 70 }],
  }, data, el);
  chart._labels = labels;
  dashboard[name] = chart;
}

function rows(id, html) { document.querySelector('#' + id + ' tbody').innerHTML = html.join(''); }

function render(s) {
  dashboard.last = s;
  dashboard.updates++;
  draw('throughput', s.throughput, document.getElementById('throughput'));
  draw('lag', s.groups.map((g) => ({ label: g.groupId, points: g.lagHistory })), document.getElementById('lag'));
  rows('groups', s.groups.map((g) => '<tr><td>' + esc(g.groupId) + '</td><td class="' + g.status + '">' + g.status + '</td><td class="n">' + g.totalLag + '</td><td>' + esc(g.state ?? '') + '</td><td>' + esc(g.reason) + '</td></tr>'));
  rows('brokers', s.brokers.map((b) => '<tr><td>' + esc(b.address) + '</td><td>' + (b.nodeId ?? '') + '</td><td class="' + (b.up ? 'up' : 'down') + '">' + (b.up ? 'up' : 'down') + '</td><td>' + (b.inMetadata ? 'yes' : 'no') + '</td></tr>'));
  rows('topics', s.topics.map((t) => '<tr><td>' + esc(t.topic) + '</td><td class="n">' + t.partitions + '</td><td class="n">' + t.messages + '</td></tr>'));
  document.getElementById('conn').textContent = 'updated ' + new Date(s.t).toLocaleTimeString() + (s.error ? ' — cluster poll failed: ' + s.error : '') + ' · meta prefix ' + s.metaPrefix;
}

fetch('/api/snapshot').then((r) => r.json()).then(render);
const events = new EventSource('/events');
events.onmessage = (e) => render(JSON.parse(e.data));
events.onerror = () => { document.getElementById('conn').textContent = 'disconnected, retrying…'; };
window.addEventListener('resize', () => { for (const c of [dashboard.throughput, dashboard.lag]) c && c.setSize({ width: width(), height: 260 }); });
</script>
</body>
</html>
`;
