// @ts-check
// The dashboard page's script (served as /dashboard.js): uPlot draws, server-sent events push a fresh
// DashboardState every second. Type-checked by ./tsconfig.json (checkJs) against the server's types.
/** @typedef {import('../src/dashboard-state').DashboardState} DashboardState */
/** @typedef {{ label: string, points: [number, number][] }} Line */
/** @typedef {InstanceType<typeof uPlot>} Chart */

const FEW_POINTS = 60;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Read by the browser test (tools/dashboard-test): the charts and the last state drawn. */
window.dashboard = { throughput: null, lag: null, last: null, updates: 0 };
const dashboard = window.dashboard;
/** The labels each chart was built with: other labels need a new chart. */
const builtWith = new Map();
const width = () => Math.max(400, Math.min(1200, window.innerWidth - 40));
/** @type {Record<string, string>} */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
/** @param {unknown} s */
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ENTITIES[c]);

/**
 * Aligns [[t, y], ...] lines on one x axis (seconds), null where a line has no point.
 * @param {Line[]} lines
 * @returns {import('../../../node_modules/uplot/dist/uPlot').AlignedData}
 */
function align(lines) {
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    /** @type {(number | null)[]} */
    const y = new Array(xs.length).fill(null);
    for (const [t, v] of l.points) y[/** @type {number} */ (idx.get(t))] = v;
    return y;
  });
  return [xs.map((x) => x / 1000), ...ys];
}

/**
 * @param {'throughput' | 'lag'} name
 * @param {Line[]} lines
 * @param {HTMLElement} el
 */
function draw(name, lines, el) {
  const labels = lines.map((l) => l.label).join('|');
  const data = align(lines);
  let chart = dashboard[name];
  if (chart && builtWith.get(name) === labels) {
    chart.setData(data);
    return;
  }
  if (chart) chart.destroy();
  chart = new uPlot(
    {
      width: width(),
      height: 260,
      // A short run has only a few seconds: draw each one as a point too, so it can be read off.
      series: [
        {},
        ...lines.map((l, i) => ({
          label: l.label,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: name === 'lag',
          points: {
            show: (/** @type {Chart} */ _u, /** @type {number} */ _si, /** @type {number} */ i0, /** @type {number} */ i1) =>
              i1 - i0 < FEW_POINTS,
            size: 6,
            fill: COLORS[i % COLORS.length],
          },
        })),
      ],
      // At least the last minute on the x axis: with a single point uPlot would otherwise span years.
      // (computed from the data itself: uPlot widens a single point's min/max before calling range)
      scales: {
        x: {
          time: true,
          range: (u) => {
            const xs = u.data[0];
            const max = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
            return [Math.min(xs.length ? xs[0] : max, max - 60), max + 1];
          },
        },
      },
      axes: [{}, { size: 70 }],
    },
    data,
    el,
  );
  builtWith.set(name, labels);
  dashboard[name] = chart;
}

/** @param {string} id @param {string[]} html */
function rows(id, html) {
  const body = document.querySelector('#' + id + ' tbody');
  if (body) body.innerHTML = html.join('');
}

/** @param {string} id */
const element = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {DashboardState['restores']['recent'][number]} r
 * @param {string} state
 * @param {string} time
 */
const restoreRow = (r, state, time) =>
  '<tr class="' +
  (r.finishedMs === undefined ? 'running' : 'done') +
  '"><td>' +
  state +
  '</td><td>' +
  esc(r.service) +
  ' ' +
  esc(r.instanceId) +
  '</td><td>' +
  esc(r.groupId) +
  '</td><td class="n">' +
  r.partition +
  '</td><td>' +
  esc(r.source ?? '') +
  '</td><td class="n">' +
  (r.recordsRead ?? '') +
  '</td><td class="n">' +
  (r.rowsRestored ?? '') +
  '</td><td class="n">' +
  time +
  '</td><td>' +
  new Date(r.finishedMs ?? r.startedMs).toLocaleTimeString() +
  '</td></tr>';

/** @param {DashboardState} s */
function render(s) {
  dashboard.last = s;
  dashboard.updates++;
  draw('throughput', s.throughput, element('throughput'));
  draw(
    'lag',
    s.groups.map((g) => ({ label: g.groupId, points: g.lagHistory })),
    element('lag'),
  );
  rows(
    'groups',
    s.groups.map(
      (g) =>
        '<tr><td>' +
        esc(g.groupId) +
        '</td><td class="' +
        g.status +
        '">' +
        g.status +
        '</td><td class="n">' +
        g.totalLag +
        '</td><td>' +
        esc(g.state ?? '') +
        '</td><td>' +
        esc(g.reason) +
        '</td></tr>',
    ),
  );
  // One row per member: which partitions of which topic it holds (co-partitioned sinks hold the same numbers of both).
  rows(
    'members',
    s.groups.flatMap((g) =>
      g.members.map(
        (m) =>
          '<tr><td>' +
          esc(g.groupId) +
          '</td><td>' +
          esc(m.clientId) +
          '</td><td>' +
          esc(m.host) +
          '</td><td>' +
          (m.assignmentError
            ? esc(m.assignmentError)
            : Object.entries(m.assignment)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([topic, partitions]) => esc(topic) + ': ' + partitions.join(', '))
                .join('<br>')) +
          '</td></tr>',
      ),
    ),
  );
  // Restores in progress first (with how long they have been running), then the recent ones, newest first.
  const now = Date.now();
  rows('restores', [
    ...s.restores.inProgress.map((r) => restoreRow(r, 'in progress', Math.max(0, now - r.startedMs) + ' ms so far')),
    ...s.restores.recent.map((r) => restoreRow(r, 'done', r.ms + ' ms')),
  ]);
  rows(
    'brokers',
    s.brokers.map(
      (b) =>
        '<tr><td>' +
        esc(b.address) +
        '</td><td>' +
        (b.nodeId ?? '') +
        '</td><td class="' +
        (b.up ? 'up' : 'down') +
        '">' +
        (b.up ? 'up' : 'down') +
        '</td><td>' +
        (b.inMetadata ? 'yes' : 'no') +
        '</td></tr>',
    ),
  );
  rows(
    'topics',
    s.topics.map(
      (t) => '<tr><td>' + esc(t.topic) + '</td><td class="n">' + t.partitions + '</td><td class="n">' + t.messages + '</td></tr>',
    ),
  );
  element('conn').textContent =
    'updated ' +
    new Date(s.t).toLocaleTimeString() +
    (s.error ? ' — cluster poll failed: ' + s.error : '') +
    ' · meta prefix ' +
    s.metaPrefix;
}

fetch('/api/state')
  .then((r) => r.json())
  .then(render);
const events = new EventSource('/events');
events.onmessage = (/** @type {MessageEvent<string>} */ e) => render(JSON.parse(e.data));
events.onerror = () => {
  element('conn').textContent = 'disconnected, retrying…';
};
window.addEventListener('resize', () => {
  for (const c of [dashboard.throughput, dashboard.lag]) if (c) c.setSize({ width: width(), height: 260 });
});
