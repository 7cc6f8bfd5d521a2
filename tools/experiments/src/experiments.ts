import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_OPTIONS, loadConfig } from '@movie-stream/config';
import { createLogger } from '@movie-stream/logging';
import { kafkaClient, sleep } from '@movie-stream/messaging';
import { generateDataset } from '@movie-stream/data-generator';
import { MetaSeries, readMetaReports } from '@movie-stream/monitoring';
import { buildApps, configEnv, PipelineRun, REPO_ROOT, ServiceProcess, startService } from '@movie-stream/pipeline-run';
import { ChartMark, formatTable, renderLineChartSvg, seriesOf } from '@movie-stream/report';
import { KafkaCluster, movielensDir } from '@movie-stream/test-support';

const log = (line: string) => process.stderr.write(`[experiment] ${line}\n`);

export interface ExperimentResult {
  dir: string;
  summary: Record<string, unknown>;
}

/** Every experiment's own fresh 3-broker cluster (ports 29091–29093): brokers are stopped here, never the shared one. */
const experimentCluster = () => new KafkaCluster({ instance: 'experiments', portBase: 29090, size: 3, output: 'stderr' });

async function metaSeries(brokers: string[], prefix: string): Promise<MetaSeries> {
  // The experiment's own cluster, with TLS and SASL as configured (the services it starts inherit them too).
  const kafka = kafkaClient(
    { ...loadConfig(KAFKA_OPTIONS, []), brokers },
    'experiment-report',
    createLogger({ service: 'experiment', level: 'warn' }),
  );
  return seriesOf(await readMetaReports(kafka, prefix, 0));
}

function outDir(name: string): string {
  const dir = join(REPO_ROOT, 'reports', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Seed experiment 1: ten rating producers (plus movie producer, processor and sink) against two brokers
 * (a 3-broker cluster with broker 3 stopped: kafka.sh runs 1 or 3). Each producer publishes
 * ml-latest-small; per-producer throughput over time, and whether any failed.
 */
export async function manyProducers(opts: { producers?: number; ratingsFile?: string } = {}): Promise<ExperimentResult> {
  const n = opts.producers ?? 10;
  const ratingsFile = opts.ratingsFile ?? join(movielensDir(), 'ratings.csv');
  const moviesFile = join(movielensDir(), 'movies.csv');
  const cluster = experimentCluster();
  const dir = outDir('many-producers');
  buildApps();
  cluster.reset();
  cluster.start();
  cluster.stopBroker(3);
  const run = new PipelineRun({
    ratingsFile,
    moviesFile,
    outDir: mkdtempSync(join(tmpdir(), 'exp-many-')),
    brokers: cluster.brokers,
    log,
    stallTimeoutMs: 180_000,
  });
  const producers: ServiceProcess[] = [];
  try {
    await run.createTopics();
    const started = Date.now();
    run.startConsumers();
    run.start('movie-producer', ['--movies', moviesFile]);
    for (let i = 1; i <= n; i++) {
      const env = { ...run.serviceEnv('rating-producer'), ...configEnv({ instanceId: `rating-producer-${i}` }) };
      // Each its own source: they all publish the whole file (one source id would make late starters skip).
      producers.push(
        startService(
          'rating-producer',
          env,
          ['--ratings', ratingsFile, '--source-id', `many-producers-${i}`],
          join(run.logDir, `producer-${i}`),
        ),
      );
    }
    log(`${n} rating producers started against ${cluster.brokers.slice(0, 2).join(', ')} (broker 3 stopped)`);
    const exits = await Promise.all(producers.map((p) => p.exited));
    const producersDone = Date.now();
    const results = producers.map((p, i) => {
      const line = p.stdout.find((l) => l.startsWith('{"summary"'));
      const s = line ? JSON.parse(line).summary : undefined;
      return {
        instance: `rating-producer-${i + 1}`,
        exitCode: exits[i].code,
        published: s?.published ?? 0,
        seconds: s?.seconds,
        rowsPerSecond: s?.rowsPerSecond,
        log: p.logFile,
      };
    });
    log(`producers done in ${((producersDone - started) / 1000).toFixed(1)} s; waiting for the consumers`);
    await run.waitUntilDrained();
    const drained = Date.now();
    await run.stopAll();
    const series = await metaSeries(cluster.brokers, run.topics.metaPrefix);
    const perProducer = series.rates({ by: 'instance', filter: (k) => k.service === 'rating-producer' && k.action === 'published' });
    const consumed = series.rates({ filter: (k) => k.service === 'mean-rating-processor' && k.action === 'consumed' });
    writeFileSync(
      join(dir, 'throughput.svg'),
      await renderLineChartSvg({
        title: `${n} rating producers on 2 brokers: published msgs/s per producer, and the processor's consumption`,
        lines: [...perProducer, ...consumed],
      }),
    );
    const summary = {
      experiment: 'many-producers',
      brokers: '3-broker KRaft cluster with broker 3 stopped',
      producers: n,
      ratingsFile,
      failed: results.filter((r) => r.exitCode !== 0).map((r) => r.instance),
      producerSeconds: (producersDone - started) / 1000,
      drainedSeconds: (drained - started) / 1000,
      totalPublished: results.reduce((s, r) => s + r.published, 0),
      results,
      table: series.summary(),
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
    process.stdout.write(formatTable(series.summary()) + '\n');
    return { dir, summary };
  } finally {
    for (const p of producers) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await run.stopAll().catch(() => undefined);
    cluster.stop();
  }
}

/**
 * Seed experiment 2: three brokers, one rating producer publishing continuously (restarted over a
 * generated data set), processor and sink consuming; brokers 2 and 3 stopped mid-run, later restarted.
 * Throughput before, during and after, with the events marked on the chart.
 */
export async function brokerStop(
  opts: { beforeMs?: number; stoppedMs?: number; afterMs?: number; acks?: string } = {},
): Promise<ExperimentResult> {
  const beforeMs = opts.beforeMs ?? 30_000;
  const stoppedMs = opts.stoppedMs ?? 30_000;
  const afterMs = opts.afterMs ?? 20_000;
  const cluster = experimentCluster();
  const dir = outDir('broker-stop');
  buildApps();
  const data = await generateDataset({ ratings: 200_000, movies: 2000, outDir: mkdtempSync(join(tmpdir(), 'exp-data-')) });
  cluster.reset();
  cluster.start();
  const run = new PipelineRun({
    ratingsFile: data.ratingsFile,
    moviesFile: data.moviesFile,
    outDir: mkdtempSync(join(tmpdir(), 'exp-stop-')),
    brokers: cluster.brokers,
    log,
    env: opts.acks ? configEnv({ acks: opts.acks }) : undefined,
  });
  const marks: ChartMark[] = [];
  let producer: ServiceProcess | undefined;
  let stopLoop = false;
  const restarts: { at: number; exitCode: number | null }[] = [];
  try {
    await run.createTopics();
    const t0 = Date.now();
    run.startConsumers();
    run.start('movie-producer', ['--movies', data.moviesFile]);
    // "Continuously": when the producer reaches the end of the file it starts over.
    const loop = (async () => {
      while (!stopLoop) {
        // A new source id per pass: the same file under the same id would be skipped as already published.
        producer = run.start('rating-producer', ['--ratings', data.ratingsFile, '--source-id', `broker-stop-pass-${restarts.length + 1}`]);
        const { code } = await producer.exited;
        restarts.push({ at: Date.now() - t0, exitCode: code });
      }
    })();
    await sleep(beforeMs);
    marks.push({ t: Date.now(), label: 'brokers 2, 3 stopped' });
    log('stopping brokers 2 and 3');
    cluster.stopBroker(2);
    cluster.stopBroker(3);
    await sleep(stoppedMs);
    marks.push({ t: Date.now(), label: 'brokers 2, 3 restarted' });
    log('restarting brokers 2 and 3');
    cluster.startBroker(2);
    cluster.startBroker(3);
    await sleep(afterMs);
    stopLoop = true;
    producer?.child.kill('SIGTERM');
    await loop;
    await run.stopAll();
    const series = await metaSeries(cluster.brokers, run.topics.metaPrefix);
    const lines = series.rates({
      filter: (k) =>
        (k.service === 'rating-producer' && k.action === 'published') || (k.service === 'mean-rating-processor' && k.action === 'consumed'),
    });
    writeFileSync(
      join(dir, 'throughput.svg'),
      await renderLineChartSvg({ title: `3 brokers, brokers 2 and 3 stopped mid-run (acks ${opts.acks ?? '-1'})`, lines, marks }),
    );
    const phase = (from: number, to: number) => {
      const s = series
        .summary({ sinceMs: from, untilMs: to - 1000 })
        .find((x) => x.service === 'rating-producer' && x.action === 'published');
      return {
        seconds: Math.round((to - from) / 1000),
        published: Math.round(s?.messages ?? 0),
        meanPerSecond: Math.round((s?.messages ?? 0) / ((to - from) / 1000)),
        peakPerSecond: s?.peakPerSecond ?? 0,
      };
    };
    const stopAt = Math.floor(marks[0].t / 1000) * 1000;
    const restartAt = Math.floor(marks[1].t / 1000) * 1000;
    const summary = {
      experiment: 'broker-stop',
      acks: opts.acks ?? '-1',
      ratingsPerPass: data.ratings,
      phases: {
        before: phase(Math.floor(t0 / 1000) * 1000 + 5000, stopAt),
        brokers2and3Stopped: phase(stopAt, restartAt),
        afterRestart: phase(restartAt, restartAt + afterMs),
      },
      producerRuns: restarts,
      table: series.summary(),
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
    process.stdout.write(JSON.stringify(summary.phases, null, 1) + '\n');
    return { dir, summary };
  } finally {
    stopLoop = true;
    if (producer && producer.child.exitCode === null) producer.child.kill('SIGKILL');
    await run.stopAll().catch(() => undefined);
    cluster.stop();
  }
}
