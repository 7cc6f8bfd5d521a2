// The database modes as a user runs them: `npm start -- --sink postgres --state postgres` creates its
// database on first use and gives the exact result, twice in a row on one database; and the live API of the
// sink answers the same from its in-memory table (CSV mode) and from movie_data (database mode), matching the
// independent computation. Real broker, real PostgreSQL, databases of the test's own (dropped at the end).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase, ensureDatabase } from '@movie-stream/movie-db';
import { buildApps, configEnv, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import { compareMovieData, computeReferenceMeans, freePort, movieIdsOf, readSemicolonCsv } from '@movie-stream/test-support';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const ratingsFile = join(REPO_ROOT, 'data', 'sample', 'ratings.csv');
const moviesFile = join(REPO_ROOT, 'data', 'sample', 'movies.csv');
const databases: string[] = [];

function newDatabaseUrl(): string {
  const u = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  u.pathname = `/movie_stream_test_${randomBytes(5).toString('hex')}`;
  databases.push(u.toString());
  return u.toString();
}

beforeAll(() => buildApps());
afterAll(async () => {
  for (const d of databases) await dropDatabase(d).catch(() => undefined);
});

function npmStart(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['start', '--', '--dashboard-port', '0', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BROKERS: brokers.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const limit = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

it('npm start --sink postgres --state postgres: creates the database, exact result, and again on the same database', async () => {
  const reference = await computeReferenceMeans(ratingsFile);
  const movieIds = await movieIdsOf(moviesFile);
  const url = newDatabaseUrl();
  for (const run of [1, 2]) {
    const outDir = mkdtempSync(join(tmpdir(), `npm-start-pg-${run}-`));
    const r = await npmStart(['--sink', 'postgres', '--state', 'postgres', '--database-url', url, '--out', outDir]);
    expect([run, r.code, r.stderr.slice(-2000)]).toEqual([run, 0, expect.any(String)]);
    // Created on the first run only; the second run empties the first run's rows instead of adding to them.
    expect([run, /created the database 127\.0\.0\.1:5432\/movie_stream_test_/.test(r.stderr)]).toEqual([run, run === 1]);
    expect(r.stdout).toContain(`ratings counted: ${reference.ratings} (published ${reference.ratings})`);
    expect(r.stdout).toMatch(/PostgreSQL: {6}127\.0\.0\.1:5432\/movie_stream_test_\w+ \(movie_data, movie_ratings_state;/);
    expect(compareMovieData(await readSemicolonCsv(join(outDir, 'movie-data.csv')), reference.means, movieIds)).toEqual([]);
  }
});

describe('the sink’s live API in both modes', () => {
  it.each([['csv'], ['postgres']])(
    '%s: GET /api/movies answers from the drained table, as the independent computation says',
    async (mode) => {
      const reference = await computeReferenceMeans(ratingsFile);
      const port = await freePort();
      // PipelineRun takes an existing database (npm start is what creates one).
      const url = newDatabaseUrl();
      if (mode === 'postgres') await ensureDatabase(url);
      const run = new PipelineRun({
        ratingsFile,
        moviesFile,
        outDir: mkdtempSync(join(tmpdir(), `api-${mode}-`)),
        brokers,
        log: () => undefined,
        appEnv: (app) => (app === 'movie-data-sink' ? configEnv({ httpPort: port }) : {}),
        ...(mode === 'postgres' ? { database: { url, sink: true } } : {}),
      });
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        const text = await res.text();
        return {
          status: res.status,
          body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text.trim(),
        };
      };
      const answers: Record<string, unknown> = {};
      await run.run({
        afterDrained: async () => {
          const expectedTop = [...reference.means]
            .filter(([, m]) => m.count >= 50)
            .sort(([ia, a], [ib, b]) => b.mean - a.mean || b.count - a.count || ia - ib)
            .slice(0, 5);
          const top = await get('/api/movies?top=5&minRatings=50');
          answers.top = top.body.movies.map((m: { movieId: number; count: number }) => [m.movieId, m.count]);
          answers.expectedTop = expectedTop.map(([id, m]) => [id, m.count]);
          const [id, m] = [...reference.means][0]!;
          const one = await get(`/api/movies/${id}`);
          answers.one = [one.status, one.body.count, Math.abs(one.body.mean - m.mean) < 1e-9];
          answers.expectedOne = [200, m.count, true];
          answers.bad = [
            (await get('/api/movies/0')).status,
            (await get('/api/movies?top=0')).status,
            (await get('/api/movies/99999999')).status,
          ];
        },
      });
      expect(answers.top).toEqual(answers.expectedTop);
      expect(answers.one).toEqual(answers.expectedOne);
      expect(answers.bad).toEqual([400, 400, 404]);
    },
  );
});
