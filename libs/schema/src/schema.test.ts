import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { create, fromBinary, toBinary, RatingSchema, MeanRatingSchema } from './index';

const root = resolve(__dirname, '..', '..', '..');
const buf = join(root, 'node_modules', '.bin', 'buf');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
}

describe('schema', () => {
  it('passes buf lint (STANDARD)', () => {
    expect(() => execFileSync(buf, ['lint'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

  it('committed generated code equals a fresh `buf generate` (run `npx nx run schema:generate` when this fails)', () => {
    const out = mkdtempSync(join(tmpdir(), 'buf-gen-'));
    const template = JSON.stringify({
      version: 'v2',
      plugins: [{ local: join(root, 'node_modules', '.bin', 'protoc-gen-es'), out, opt: ['target=ts'] }],
    });
    execFileSync(buf, ['generate', '--template', template], { cwd: root, stdio: 'pipe' });
    const committed = join(__dirname, 'gen');
    const fresh = files(out)
      .map((f) => relative(out, f))
      .sort();
    expect(
      files(committed)
        .map((f) => relative(committed, f))
        .sort(),
    ).toEqual(fresh);
    for (const f of fresh) expect(readFileSync(join(committed, f), 'utf8')).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it('round-trips a Rating in a few bytes and a MeanRating with full precision', () => {
    const r = create(RatingSchema, { userId: 671, movieId: 6565, value: 3.5, timestamp: 1074784724n });
    const bytes = toBinary(RatingSchema, r);
    expect(bytes.length).toBeLessThanOrEqual(24);
    expect(fromBinary(RatingSchema, bytes)).toMatchObject({ userId: 671, movieId: 6565, value: 3.5, timestamp: 1074784724n });
    const m = create(MeanRatingSchema, { movieId: 1, sum: 10, count: 3, mean: 10 / 3 });
    expect(fromBinary(MeanRatingSchema, toBinary(MeanRatingSchema, m)).mean).toBe(10 / 3);
  });
});
