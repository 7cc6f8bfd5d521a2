// `npx nx affected -t test` is the fast loop: every project's `test` target passes when the project has no
// tests (yet), and the slow suites (fault tests: minutes of broker kills; container tests: image builds) have
// targets of their own, which `.ci/run` and the npm scripts run.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');

interface Target {
  executor?: string;
  options?: { command?: string };
}

const projects = ['apps', 'libs', 'tools'].flatMap((dir) =>
  readdirSync(join(ROOT, dir))
    .filter((p) => existsSync(join(ROOT, dir, p, 'project.json')))
    .map((p) => {
      const json = JSON.parse(readFileSync(join(ROOT, dir, p, 'project.json'), 'utf8')) as {
        name: string;
        targets: Record<string, Target>;
      };
      return { root: `${dir}/${p}`, name: json.name, targets: json.targets };
    }),
);
const testTargets = projects.filter((p) => p.targets.test).map((p) => ({ ...p, command: p.targets.test!.options?.command ?? '' }));

it('finds the projects', () => {
  expect(testTargets.map((p) => p.name)).toEqual(expect.arrayContaining(['service-runtime', 'pipeline', 'containers', 'movielens-csv']));
});

it('every test target runs its own jest config and passes when the project has no tests', () => {
  const wrong = testTargets.filter(
    (p) => !p.command.includes(`jest -c ${p.root}/jest.config.cjs`) || !/ --passWithNoTests\b/.test(p.command),
  );
  expect(wrong.map((p) => `${p.name}: ${p.command}`)).toEqual([]);
});

it('no test target runs the fault tests or the container tests; their own targets do', () => {
  const slow = testTargets.filter(
    (p) =>
      p.command.includes('fault-tests') ||
      /CONTAINER_TESTS=(?!0)/.test(p.command) ||
      (p.name === 'containers' && !p.command.startsWith('CONTAINER_TESTS=0 ')),
  );
  expect(slow.map((p) => p.name)).toEqual([]);
  const byName = new Map(projects.map((p) => [p.name, p.targets]));
  expect(byName.get('fault-tests')?.['test-faults']?.options?.command).toBe('jest -c tools/fault-tests/jest.config.cjs --runInBand');
  expect(byName.get('containers')?.['test-containers']?.options?.command).toBe(
    'CONTAINER_TESTS=1 jest -c tools/containers/jest.config.cjs',
  );
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  expect(scripts['test:faults']).toBe('jest -c tools/fault-tests/jest.config.cjs --runInBand');
  expect(scripts['test:containers']).toBe('jest -c tools/containers/jest.config.cjs');
});
