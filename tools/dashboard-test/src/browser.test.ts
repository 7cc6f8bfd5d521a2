// The browser tests need no Chromium installed by hand: without Debian's, the one in @sparticuz/chromium is used.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BUNDLED, chooseChromium, launchChromium } from './browser';

// Unpacking the bundled Chromium the first time takes a few seconds.
jest.setTimeout(120_000);

const nowhere = join(tmpdir(), 'no-such-dir', 'chromium');

describe('chooseChromium', () => {
  it('without a system Chromium, takes the bundled one: an executable file', async () => {
    const choice = await chooseChromium({}, nowhere);
    expect(choice.source).toBe('@sparticuz/chromium');
    expect(() => accessSync(choice.executablePath, constants.X_OK)).not.toThrow();
    expect(choice.args).toContain('--no-sandbox');
  });

  it(`CHROMIUM_PATH=${BUNDLED} forces the bundled one even when a system Chromium exists`, async () => {
    const choice = await chooseChromium({ CHROMIUM_PATH: BUNDLED }, process.execPath);
    expect(choice.source).toBe('@sparticuz/chromium');
  });

  it('prefers the system Chromium when present, and a CHROMIUM_PATH that exists', async () => {
    expect(await chooseChromium({}, process.execPath)).toMatchObject({ executablePath: process.execPath, source: 'system' });
    expect(await chooseChromium({ CHROMIUM_PATH: process.execPath }, nowhere)).toMatchObject({
      executablePath: process.execPath,
      source: 'CHROMIUM_PATH',
    });
  });

  it('a CHROMIUM_PATH that does not exist is an error naming it', async () => {
    await expect(chooseChromium({ CHROMIUM_PATH: nowhere }, nowhere)).rejects.toThrow(`CHROMIUM_PATH=${nowhere}: no such file`);
  });
});

it('launches the chosen Chromium and renders a page with a canvas', async () => {
  const browser = await launchChromium();
  try {
    process.stderr.write(`chromium: ${browser.choice.source} ${browser.choice.executablePath}\n`);
    const page = await browser.context.newPage();
    await page.setContent('<canvas id="c" width="40" height="30"></canvas><p>hello</p>');
    // Pixels drawn and read back by the renderer, and a screenshot of the page.
    // (No DOM types in this project's TypeScript lib: the page's objects are typed by hand.)
    type Ctx2d = {
      fillStyle: string;
      fillRect(x: number, y: number, w: number, h: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
    };
    const pixel = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { getElementById(id: string): { getContext(kind: '2d'): Ctx2d } } }).document;
      const g = doc.getElementById('c').getContext('2d');
      g.fillStyle = 'rgb(200, 30, 60)';
      g.fillRect(0, 0, 40, 30);
      return Array.from(g.getImageData(20, 15, 1, 1).data);
    });
    expect(pixel).toEqual([200, 30, 60, 255]);
    expect(await page.locator('p').innerText()).toBe('hello');
    // Dates format (uPlot's axes do this): the page's language must be one Intl accepts.
    expect(
      await page.evaluate(
        () => new Intl.DateTimeFormat((globalThis as unknown as { navigator: { language: string } }).navigator.language).format(0).length,
      ),
    ).toBeGreaterThan(0);
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(1000);
  } finally {
    await browser.close();
  }
});
