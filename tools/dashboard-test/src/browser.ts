import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, BrowserContext } from 'playwright-core';

/** Debian's Chromium, used when it is installed. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
/** The value of CHROMIUM_PATH that forces the Chromium shipped in the npm package @sparticuz/chromium. */
export const BUNDLED = 'bundled';

export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  /** Where it came from, for the test log: 'CHROMIUM_PATH', 'system' or '@sparticuz/chromium'. */
  source: string;
}

const SYSTEM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The Chromium that the browser tests drive. CHROMIUM_PATH picks one: a path to an executable, or
 * `bundled` for the npm one. Unset: Debian's /usr/bin/chromium when present, otherwise the Chromium inside
 * the dev dependency @sparticuz/chromium (unpacked once into the system temp dir), so
 * `npm ci && npm test` needs no browser installed by hand.
 */
export async function chooseChromium(env: NodeJS.ProcessEnv = process.env, systemPath = SYSTEM_CHROMIUM): Promise<ChromiumChoice> {
  const wanted = env.CHROMIUM_PATH;
  if (wanted && wanted !== BUNDLED) {
    if (!existsSync(wanted))
      throw new Error(`CHROMIUM_PATH=${wanted}: no such file (unset it to use ${systemPath} or the bundled Chromium)`);
    return { executablePath: wanted, args: SYSTEM_ARGS, source: 'CHROMIUM_PATH' };
  }
  if (wanted !== BUNDLED && existsSync(systemPath)) return { executablePath: systemPath, args: SYSTEM_ARGS, source: 'system' };
  return bundledChromium();
}

/**
 * @sparticuz/chromium is an ES module, which jest's CommonJS runtime cannot import: a small node process
 * prints its recommended flags and, when asked, unpacks it. It unpacks into the system temp dir and takes a
 * `chromium` found there as complete, so two test processes unpacking at once would run a half-written
 * file (seen: spawn ETXTBSY). Hence each unpacks into a staging dir of its own that is renamed into place
 * atomically; the loser of a race uses the winner's copy.
 */
async function bundledChromium(): Promise<ChromiumChoice> {
  const entry = require.resolve('@sparticuz/chromium');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  const dir = join(tmpdir(), `movie-stream-chromium-${version}`);
  const executablePath = join(dir, 'chromium');
  const unpack = !existsSync(executablePath);
  const staging = `${dir}.${process.pid}.${Date.now()}`;
  const script = [
    `const { default: c } = await import(${JSON.stringify(pathToFileURL(entry).href)});`,
    `console.log(JSON.stringify({ args: c.args, unpacked: process.env.UNPACK === '1' ? await c.executablePath() : undefined }));`,
  ].join('\n');
  try {
    if (unpack) mkdirSync(staging, { recursive: true });
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 120_000,
      env: { ...process.env, TMPDIR: unpack ? staging : tmpdir(), UNPACK: unpack ? '1' : '0' },
    });
    const { args, unpacked } = JSON.parse(stdout) as { args: string[]; unpacked?: string };
    if (unpack) {
      if (unpacked !== join(staging, 'chromium')) throw new Error(`unpacked to ${unpacked}, expected ${join(staging, 'chromium')}`);
      try {
        renameSync(staging, dir);
      } catch (e) {
        // Another process got there first: its copy is complete (it was renamed into place whole).
        if (!existsSync(executablePath)) throw e;
      }
    }
    return { executablePath, args, source: '@sparticuz/chromium' };
  } catch (e) {
    throw new Error(`could not unpack the Chromium of @sparticuz/chromium (installed by \`npm ci\`) into ${dir}: ${(e as Error).message}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Headless Chromium (see chooseChromium) in a fresh context. Throws (never skips) when none can be had, so
 * a machine without one fails the test instead of passing it silently.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; choice: ChromiumChoice; close(): Promise<void> }> {
  const choice = await chooseChromium();
  const browser = await chromium.launch({ executablePath: choice.executablePath, args: choice.args, headless: true });
  // A fixed locale: from a POSIX environment the bundled headless shell reports "en-US@posix", which Intl
  // rejects (uPlot then fails to load: "Invalid language tag").
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-US' });
  return {
    context,
    choice,
    async close() {
      await browser.close();
    },
  };
}
