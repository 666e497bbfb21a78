import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AddressInfo } from 'node:net';
import { BrowserContext, chromium, ConsoleMessage, Page } from 'playwright-core';
import { TestApp } from '../../support/test-app';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

/**
 * The browser tests need web/dist. `npm run build` makes it; a checkout where only `npm test` ran (or where the UI's
 * sources are newer than the build) gets a build here, so the tests never drive a stale UI.
 */
export function ensureWebBuilt(): void {
  const web = join(ROOT, 'web');
  const index = join(web, 'dist', 'index.html');
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((f) => join(web, f));
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime));
  if (fresh()) return;
  // Jest runs test files in parallel workers: one builds while the others wait (a build empties web/dist first).
  const lock = join(web, '.build-lock');
  const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 180_000) rmSync(lock, { recursive: true, force: true }); // a crashed builder's lock
      sleep(200);
    }
  }
  try {
    if (!fresh()) execFileSync('npm', ['run', 'build', '-w', 'web'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Makes the test app listen on a loopback port (startTestApp builds it without listening) and returns its URL. */
export async function listen(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far: a test ends by asserting there are none. */
  errors: string[];
  /**
   * Chromium logs every 4xx/5xx response as a console error. A test that provokes a refusal on purpose declares
   * it here (status and URL path); only those exact responses are then not counted as errors.
   */
  expectHttpError(status: number, path: string): void;
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, on a fresh profile; nothing is downloaded. */
export async function launch(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'wavegate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  const expected: { status: number; path: string }[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    const url = m.location().url;
    const status = /Failed to load resource: the server responded with a status of (\d+)/.exec(m.text())?.[1];
    if (
      status &&
      expected.some((e) => e.status === Number(status) && url && new URL(url).pathname === e.path)
    )
      return;
    errors.push(`console: ${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    errors,
    expectHttpError(status, path) {
      expected.push({ status, path });
    },
    async shot(name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the login form, with the keyboard only. */
export async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.getByLabel('Email').waitFor();
  await page.getByLabel('Email').focus();
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').waitFor();
}
