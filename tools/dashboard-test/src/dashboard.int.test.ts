// The dashboard in a real browser on a real pipeline run: the throughput chart shows the run's messages,
// the lag of the run's consumer groups reaches 0, and a screenshot is kept as reports/dashboard.png.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMonitor, Monitor, type DashboardState } from '@movie-stream/monitoring';
import { buildApps, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline';
import { launchChromium } from './browser';

// Builds the apps, runs the pipeline on data/sample and drives Chromium: about half a minute.
jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

interface PageState {
  labels: string[];
  sums: number[];
  groups: { groupId: string; totalLag: number; status: string; last: number | undefined }[];
}

let run: PipelineRun | undefined;
let monitor: Monitor | undefined;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await monitor?.close();
  await run?.stopAll();
  await run?.deleteTopics().catch(() => undefined);
});

it('shows the run’s throughput and its consumer lag reaching 0', async () => {
  // Fail first (and clearly) when there is no Chromium, before minutes of pipeline.
  browser = await launchChromium();
  process.stderr.write(`chromium: ${browser.choice.source} ${browser.choice.executablePath}\n`);
  buildApps();
  run = new PipelineRun({
    ratingsFile: join(REPO_ROOT, 'data', 'sample', 'ratings.csv'),
    moviesFile: join(REPO_ROOT, 'data', 'sample', 'movies.csv'),
    outDir: mkdtempSync(join(tmpdir(), 'dashboard-test-')),
    brokers,
    keepTopics: true, // deleted in afterAll, after the page has read the lag
    log: () => undefined,
  });
  monitor = await startMonitor({ brokers, metaPrefix: run.topics.metaPrefix, scope: `${run.runId}.`, port: 0, pollMs: 1000 });
  const summary = await run.run();
  expect(summary.ratings.published).toBeGreaterThan(0);

  const page = await browser.context.newPage();
  // The page's own errors and failed requests, to say why it shows nothing should it fail.
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
  page.on('requestfailed', (r) => pageErrors.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(monitor.url);
  const groups = [run.groups.processor, run.groups.sink];
  // Wait until the page shows every published rating and both groups at lag 0.
  await page
    .waitForFunction(
      ({ groups, ratings }) => {
        const d = (
          globalThis as unknown as {
            dashboard: {
              throughput?: { series: { label?: string }[]; data: (number | null)[][] };
              last?: { groups: { groupId: string; totalLag: number }[] };
            };
          }
        ).dashboard;
        if (!d.throughput || !d.last) return false;
        const i = d.throughput.series.findIndex((s) => s.label === 'rating-producer published');
        const sum = i > 0 ? d.throughput.data[i].reduce<number>((s, v) => s + (v ?? 0), 0) : 0;
        return Math.round(sum) === ratings && groups.every((g) => d.last!.groups.some((x) => x.groupId === g && x.totalLag === 0));
      },
      { groups, ratings: summary.ratings.published },
      { timeout: 60_000, polling: 500 },
    )
    .catch(async (e: Error) => {
      // Say what the page did show, and keep a picture of it.
      const shown = await page.evaluate(() =>
        JSON.stringify((globalThis as unknown as { dashboard: { last?: unknown } }).dashboard.last ?? null).slice(0, 3000),
      );
      mkdirSync(join(REPO_ROOT, 'reports'), { recursive: true });
      await page.screenshot({ path: join(REPO_ROOT, 'reports', 'dashboard-failed.png'), fullPage: true });
      throw new Error(
        `${e.message}\npage errors: ${JSON.stringify(pageErrors)}\npage state: ${shown}\nscreenshot: reports/dashboard-failed.png`,
      );
    });
  const state: PageState = await page.evaluate(() => {
    const d = (
      globalThis as unknown as {
        dashboard: {
          throughput: { series: { label?: string }[]; data: (number | null)[][] };
          lag: { series: { label?: string }[]; data: (number | null)[][] };
          last: { groups: { groupId: string; totalLag: number; status: string }[] };
        };
      }
    ).dashboard;
    return {
      labels: d.throughput.series.slice(1).map((s) => s.label ?? ''),
      sums: d.throughput.data.slice(1).map((ys) => ys.reduce<number>((s, v) => s + (v ?? 0), 0)),
      groups: d.last.groups.map((g) => {
        const i = d.lag.series.findIndex((s) => s.label === g.groupId);
        const ys = d.lag.data[i].filter((v): v is number => v !== null);
        return { groupId: g.groupId, totalLag: g.totalLag, status: g.status, last: ys[ys.length - 1] };
      }),
    };
  });
  const sumOf = (label: string) => Math.round(state.sums[state.labels.indexOf(label)] ?? 0);
  // The chart's rating-producer line adds up to exactly what the producer published; the processor consumed it all.
  expect(sumOf('rating-producer published')).toBe(summary.ratings.published);
  expect(sumOf('mean-rating-processor consumed')).toBe(summary.ratings.published);
  expect(sumOf('movie-producer published')).toBe(summary.movies.published);
  for (const g of groups) {
    expect(state.groups.find((x) => x.groupId === g)).toMatchObject({ totalLag: 0, status: 'OK', last: 0 });
  }
  const rows = await page.locator('#groups tbody tr').allInnerTexts();
  expect(rows.some((r) => r.includes(run!.groups.processor) && r.includes('OK'))).toBe(true);

  // The services reported their partition restores on the meta topic: each group restored every partition of
  // the run's ratings topic once (one instance each, a fresh state), none is still in progress, one row each.
  const { restores, partitions } = await page.evaluate((ratings) => {
    const d = (globalThis as unknown as { dashboard: { last: DashboardState } }).dashboard.last;
    return { restores: d.restores, partitions: d.topics.find((t) => t.topic === ratings)?.partitions ?? -1 };
  }, run.topics.ratings);
  expect(partitions).toBeGreaterThan(0);
  expect(restores.inProgress).toEqual([]);
  for (const g of groups) {
    const mine = restores.recent.filter((r) => r.groupId === g);
    expect(mine.map((r) => r.partition).sort((a, b) => a - b)).toEqual(Array.from({ length: partitions }, (_, p) => p));
    expect(mine.every((r) => r.source === 'replay' && r.finishedMs! >= r.startedMs)).toBe(true);
  }
  expect(await page.locator('#restores tbody tr').count()).toBe(restores.recent.length);

  const dir = join(REPO_ROOT, 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  process.stderr.write(`dashboard screenshot: ${file}\n`);
});
