// npm run bench -- [--ratings N] [--movies M] [--partitions P] [--processors N] [--sinks M] [--runs R] [--keep-data] [--seed S]
//   [--variant NAME:KEY=V[,KEY=V…]]… [--api-clients N[,N…]] [--cpu-per-instance C] [--api-mix movie=W,top=W,genre=W] [--profile DIR] [--skip-kafka-perf] [--help]
// Prints progress on stderr, then a table and, as the last line, one JSON object on stdout.
// Exit 1 when the pipeline's movie-data.csv differs from the independent computation.
import { OPTIONS } from '@movie-stream/config';
import { buildApps, ensureLocalKafka } from '@movie-stream/pipeline-run';
import { parseBenchArgs, USAGE } from './args';
import { runBench } from './bench';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { opts } = args;
  if (!process.env[OPTIONS.brokers.env]) ensureLocalKafka();
  buildApps();
  const r = await runBench(opts);
  for (const p of r.problems.slice(0, 20)) process.stderr.write(`MISMATCH ${p}\n`);
  process.stdout.write(
    `\nmovie-stream bench: ${opts.ratings} ratings, ${opts.movies} movies, ${opts.partitions} partitions, ` +
      `${opts.processors} processor(s), ${opts.sinks} sink(s), ${opts.runs} run(s)\n`,
  );
  process.stdout.write(r.table + '\n');
  process.stdout.write(JSON.stringify(r.json) + '\n');
  process.exitCode = r.correct ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(2);
});
