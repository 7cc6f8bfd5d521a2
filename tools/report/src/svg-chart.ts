// Line charts as SVG, rendered in Node without a browser (vega-lite compiles, vega renders headless).
import * as vega from 'vega';
import { compile, TopLevelSpec } from 'vega-lite';
import type { RateSeries } from '@movie-stream/monitoring';

export interface ChartMark {
  /** Epoch ms. */
  t: number;
  label: string;
}

export interface LineChart {
  title: string;
  lines: RateSeries[];
  /** Vertical rules, e.g. "brokers 2 and 3 stopped". */
  marks?: ChartMark[];
  yTitle?: string;
  width?: number;
  height?: number;
}

/** Up to this many x values, the points are drawn as well as the lines. */
export const MAX_POINTS_SHOWN = 60;

/** Seconds since the first point on x, one colour per line, marks as dashed vertical rules. */
export async function renderLineChartSvg(chart: LineChart): Promise<string> {
  const t0 = Math.min(...chart.lines.flatMap((l) => l.points.map((p) => p[0])), ...(chart.marks ?? []).map((m) => m.t));
  const values = chart.lines.flatMap((l) => l.points.map(([t, v]) => ({ s: (t - t0) / 1000, v, line: l.label })));
  const marks = (chart.marks ?? []).map((m) => ({ s: (m.t - t0) / 1000, label: m.label }));
  const seconds = new Set(values.map((v) => v.s)).size;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: chart.title,
    width: chart.width ?? 800,
    height: chart.height ?? 320,
    layer: [
      {
        data: { values },
        // Few seconds (a short run): every second also drawn as a point, so each one can be read off.
        mark: {
          type: 'line',
          strokeWidth: 1.5,
          interpolate: 'linear',
          point: seconds <= MAX_POINTS_SHOWN ? { filled: true, size: 30 } : false,
        },
        encoding: {
          x: { field: 's', type: 'quantitative', title: 'seconds' },
          y: { field: 'v', type: 'quantitative', title: chart.yTitle ?? 'messages/s' },
          color: { field: 'line', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
        },
      },
      ...(marks.length
        ? [
            {
              data: { values: marks },
              mark: { type: 'rule' as const, color: '#c01818', strokeDash: [6, 4] },
              encoding: { x: { field: 's', type: 'quantitative' as const } },
            },
            {
              data: { values: marks },
              mark: { type: 'text' as const, color: '#c01818', align: 'left' as const, dx: 4, dy: -4, baseline: 'top' as const },
              encoding: { x: { field: 's', type: 'quantitative' as const }, y: { value: 0 }, text: { field: 'label' } },
            },
          ]
        : []),
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
