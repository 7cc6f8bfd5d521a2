import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { readMovies, readRatings } from './index';

// The real data lives beside the repo (../shared/movielens), never inside it (GroupLens' license allows
// research use only); MOVIELENS_DIR overrides. (A lib may not import tools/test-support, whose
// describeWithMovielens does the same.) Where it is missing these tests are skipped, visibly: the readers'
// own tests run on data made in the test.
function movielensDir(): string {
  if (process.env.MOVIELENS_DIR) return path.resolve(process.env.MOVIELENS_DIR);
  let root = __dirname;
  while (!existsSync(path.join(root, 'nx.json'))) {
    const up = path.dirname(root);
    if (up === root) throw new Error(`no nx.json above ${__dirname}`);
    root = up;
  }
  return path.resolve(root, '..', 'shared', 'movielens', 'ml-latest-small');
}

const dir = movielensDir();
const absent = ['ratings.csv', 'movies.csv'].filter((f) => !existsSync(path.join(dir, f)));
const missing = absent.length
  ? `MovieLens ml-latest-small not found: no ${absent.join(', ')} in ${dir}; set MOVIELENS_DIR to the unzipped ml-latest-small folder (data/README.md says where to get it)`
  : undefined;
if (missing) process.stderr.write(`skipped "real MovieLens ml-latest-small": ${missing}\n`);
const describeReal = missing ? describe.skip : describe;

describeReal(`real MovieLens ml-latest-small${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  it('reads all 100004 ratings with no rejects', async () => {
    const { batches, stats } = readRatings(path.join(dir, 'ratings.csv'));
    let n = 0;
    let sum = 0;
    for await (const b of batches) {
      n += b.length;
      for (const r of b) sum += r.rating;
    }
    expect(stats).toMatchObject({ rowsRead: 100004, rowsAccepted: 100004, rowsRejected: 0, rejectReasons: {} });
    expect(n).toBe(100004);
    expect(sum / n).toBeGreaterThan(3);
    expect(sum / n).toBeLessThan(4);
  });

  it('reads all 9125 movies with no rejects, keeping quoted titles', async () => {
    const { batches, stats } = readMovies(path.join(dir, 'movies.csv'));
    const titles = new Map<number, string>();
    let noGenres = 0;
    for await (const b of batches) {
      for (const m of b) {
        titles.set(m.movieId, m.title);
        if (m.genres.length === 0) noGenres++;
      }
    }
    expect(stats).toMatchObject({ rowsRead: 9125, rowsAccepted: 9125, rowsRejected: 0 });
    expect(titles.size).toBe(9125);
    expect(titles.get(1)).toBe('Toy Story (1995)');
    expect([...titles.values()].some((t) => t.includes(','))).toBe(true);
    expect(noGenres).toBeGreaterThan(0);
  });
});
