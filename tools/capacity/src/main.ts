// npm run capacity -- [--bench FILE|-]… [--ratings-per-day N] [--peak-factor F] [model inputs…]
// docs/CAPACITY.md's sizing computed from bench JSON lines: markdown tables, then one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { parseCapacityArgs, USAGE } from './args';
import { lastJsonLine, measuredFromBench, type Line } from './bench-line';
import { capacity, type CapacityInputs } from './capacity';
import { inputsMarkdown, sizingMarkdown } from './table';

function main(): void {
  let args;
  try {
    args = parseCapacityArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const lines: Line[] = args.bench.map((file) => {
    const source = file === '-' ? 'stdin' : file;
    return { source, line: lastJsonLine(readFileSync(file === '-' ? 0 : file, 'utf8'), source) };
  });
  const measured = measuredFromBench(lines, args.fromBench, args.inputs.procFixedUs);
  const inputs: CapacityInputs = { ...args.inputs, ...measured.values };
  const sources: Partial<Record<keyof CapacityInputs, string>> = { ...measured.sources };
  for (const key of args.fromBench) if (!sources[key]) sources[key] = lines.length ? 'document (not in the bench lines)' : 'document';
  const result = capacity(inputs);
  for (const note of measured.notes) process.stderr.write(`note: ${note}\n`);
  process.stdout.write(`${inputsMarkdown(inputs, sources)}\n\n${sizingMarkdown(inputs, result)}\n\n`);
  process.stdout.write(`${JSON.stringify({ inputs, ...result })}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`capacity: ${(e as Error).message}\n`);
  process.exit(1);
}
