import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable } from './index';

it('the README documents every option with its default (regenerate with `npm run docs:config`)', () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  expect(readme).toContain(markdownTable());
});
