// The page's globals: uPlot from /uPlot.iife.min.js, and what the page exposes to the browser test.
declare const uPlot: typeof import('../../../node_modules/uplot/dist/uPlot');

interface Window {
  dashboard: {
    throughput: InstanceType<typeof uPlot> | null;
    lag: InstanceType<typeof uPlot> | null;
    last: import('../src/dashboard-state').DashboardState | null;
    updates: number;
  };
}
