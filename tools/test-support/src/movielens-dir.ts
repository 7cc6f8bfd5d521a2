import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const FILES = ['ratings.csv', 'movies.csv'];
const HOW = 'set MOVIELENS_DIR to the unzipped ml-latest-small folder (data/README.md says where to get it)';

/**
 * Where the MovieLens ml-latest-small folder is looked for: MOVIELENS_DIR, else
 * ../shared/movielens/ml-latest-small beside the checkout. The repository does not carry it (GroupLens'
 * license allows research use only); `missing` says why it is not usable, undefined when it is.
 */
export function findMovielensDir(env: NodeJS.ProcessEnv = process.env): { dir: string; missing?: string } {
  const dir = env.MOVIELENS_DIR
    ? resolve(env.MOVIELENS_DIR)
    : resolve(__dirname, '..', '..', '..', '..', 'shared', 'movielens', 'ml-latest-small');
  const absent = FILES.filter((f) => !existsSync(join(dir, f)));
  return absent.length ? { dir, missing: `MovieLens ml-latest-small not found: no ${absent.join(', ')} in ${dir}; ${HOW}` } : { dir };
}

/** The ml-latest-small folder, for the benchmarks and experiments that need it; throws when it is missing. */
export function movielensDir(): string {
  const { dir, missing } = findMovielensDir();
  if (missing) throw new Error(missing);
  return dir;
}

/**
 * A describe() block of tests on the real ml-latest-small. They are an addition to the tests on generated
 * data: where the files are missing the block is skipped visibly, with the reason printed and in its name.
 */
export function describeWithMovielens(name: string, body: (dir: string) => void): void {
  const { dir, missing } = findMovielensDir();
  if (!missing) {
    describe(name, () => body(dir));
    return;
  }
  process.stderr.write(`skipped "${name}": ${missing}\n`);
  // The body still declares its tests (jest lists them as skipped); none of them runs.
  describe.skip(`${name} [skipped: ${missing}]`, () => body(dir));
}
