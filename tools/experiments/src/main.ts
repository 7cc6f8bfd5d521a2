// npm run experiment -- many-producers [--producers 10] | broker-stop [--acks -1|1]
// Runs on its own 3-broker cluster (KAFKA_INSTANCE=experiments, ports 29091-29093); writes
// reports/<name>/throughput.svg and summary.json.
import { parseArgs } from 'node:util';
import { brokerStop, manyProducers } from './experiments';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { producers: { type: 'string' }, acks: { type: 'string' } },
    allowPositionals: true,
  });
  const name = positionals[0];
  const r =
    name === 'many-producers'
      ? await manyProducers({ producers: values.producers ? Number(values.producers) : undefined })
      : name === 'broker-stop'
        ? await brokerStop({ acks: values.acks })
        : undefined;
  if (!r) {
    process.stderr.write('usage: npm run experiment -- many-producers [--producers N] | broker-stop [--acks -1|1]\n');
    process.exit(2);
  }
  process.stderr.write(`results in ${r.dir}/ (throughput.svg, summary.json)\n`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`experiment failed: ${e.message}\n`);
    process.exit(1);
  },
);
