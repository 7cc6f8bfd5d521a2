// CLI: npx tsx tools/data-generator/src/main.ts --ratings N --movies M [--users U] [--seed S] [--out DIR] [--bad-rows K]
import { parseArgs } from 'node:util';
import { DEFAULT_SEED, generateDataset } from './generate';

const USAGE = `Generates MovieLens-format ratings.csv and movies.csv (deterministic for a given seed).

Usage: npx tsx tools/data-generator/src/main.ts --ratings N --movies M [options]

  --ratings N                 good rating rows to write (required)
  --movies M                  rows in movies.csv (required)
  --users U                   distinct users (default: ratings / 150)
  --seed S                    PRNG seed (default: ${DEFAULT_SEED})
  --out DIR                   output directory (default: data/out/generated)
  --unnamed-rated-movies K    rated movieIds left out of movies.csv (default: 0)
  --bad-rows K                malformed rows mixed into ratings.csv (default: 0)
  --help                      print this help
`;

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new Error(`--${name}: "${raw}" is not a non-negative integer`);
  return Number(raw);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ratings: { type: 'string' },
      movies: { type: 'string' },
      users: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'unnamed-rated-movies': { type: 'string' },
      'bad-rows': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const ratings = int('ratings', values.ratings);
  const movies = int('movies', values.movies);
  if (ratings === undefined || movies === undefined) throw new Error('--ratings and --movies are required (see --help)');
  const started = Date.now();
  const result = await generateDataset({
    ratings,
    movies,
    users: int('users', values.users),
    seed: int('seed', values.seed),
    outDir: values.out ?? 'data/out/generated',
    unnamedRatedMovies: int('unnamed-rated-movies', values['unnamed-rated-movies']),
    badRows: int('bad-rows', values['bad-rows']),
  });
  const s = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `wrote ${result.ratings} ratings (+${result.badRows} bad rows) to ${result.ratingsFile}\n` +
      `wrote ${result.movies} movies to ${result.moviesFile}` +
      (result.unnamedMovieIds.length ? ` (rated but unnamed: ${result.unnamedMovieIds.join(', ')})` : '') +
      `\nin ${s} s\n`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
