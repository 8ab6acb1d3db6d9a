// What every browser test script shares: its arguments, Debian's chromium driven by
// playwright-core, numbered screenshots in the output folder, the page's own errors (a script
// error, an error on its console, or a request the server answered with 500 fails the test;
// other refusals are listed, since the scripts provoke some), and signing in with a token.
//
// Arguments: --base-url URL --token-file FILE --out DIR, plus the script's own (--name value).
// The token is read from a file, never taken on the command line (which others on the host
// can read). Exit status 0 only when every step passed; the last line says which.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export function parseArgs(required) {
  const args = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = argv[i].match(/^--([\w-]+)$/);
    if (!m || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[m[1]] = argv[++i];
  }
  for (const key of ['base-url', 'token-file', 'out', ...required]) {
    if (!args[key]) throw new Error(`missing --${key}`);
  }
  return args;
}

export function readToken(file) {
  return fs.readFileSync(file, 'utf8').trim();
}

export class BrowserSession {
  static async open(args, scriptName) {
    fs.mkdirSync(args.out, { recursive: true });
    const browser = await chromium.launch({
      executablePath: process.env.PGSHIFT_CHROMIUM || '/usr/bin/chromium',
      // Chromium's sandbox cannot run as root (CI runs as root); the page is our own.
      chromiumSandbox: false,
      args: ['--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    return new BrowserSession(browser, context, page, args, scriptName);
  }

  constructor(browser, context, page, args, scriptName) {
    this.browser = browser;
    this.context = context;
    this.page = page;
    this.baseUrl = args['base-url'].replace(/\/$/, '');
    this.out = args.out;
    this.scriptName = scriptName;
    this.shots = 0;
    this.pageErrors = [];
    this.refusals = [];
    this.watch(page);
  }

  // A second tab (its own sessionStorage, so it signs in by itself), watched like the first.
  async newTab() {
    const tab = await this.context.newPage();
    this.watch(tab);
    return tab;
  }

  watch(page) {
    page.on('pageerror', (err) => this.pageErrors.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // A refused request is logged by the browser too; it is judged from its response below.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
        this.pageErrors.push(`console error: ${msg.text()}`);
      }
    });
    page.on('response', (resp) => {
      if (resp.status() < 400) return;
      const what = `${resp.status()} ${resp.request().method()} ${new URL(resp.url()).pathname}`;
      this.refusals.push(what);
      if (resp.status() === 500) this.pageErrors.push(`server error: ${what}`);
    });
  }

  log(text) {
    console.log(`${this.scriptName}: ${text}`);
  }

  // Saves a screenshot as NN-label.png and says so: the whole page, or the window when a
  // dialog is open (its backdrop covers the window only).
  async screenshot(label, page = this.page) {
    this.shots++;
    const file = path.join(this.out, `${String(this.shots).padStart(2, '0')}-${label}.png`);
    const dialogOpen = (await page.locator('dialog[open]').count()) > 0;
    await page.screenshot({ path: file, fullPage: !dialogOpen });
    this.log(`screenshot ${file}`);
    return file;
  }

  async signIn(token, page = this.page) {
    await page.goto(`${this.baseUrl}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('identity').waitFor({ state: 'visible' });
  }

  // Lists the requests the server refused, and fails when the page reported a script error,
  // an error on its console, or a 500 from the server.
  checkPageErrors() {
    if (this.refusals.length) this.log(`requests refused: ${[...new Set(this.refusals)].join(', ')}`);
    if (this.pageErrors.length) {
      throw new Error(`the page reported errors:\n  ${this.pageErrors.join('\n  ')}`);
    }
  }

  async close() {
    await this.browser.close();
  }
}

// Runs `body(session)`; on failure saves a screenshot of the page as it was, prints the error
// and exits 1. Prints "<script>: ok" and exits 0 on success.
export async function runScript(scriptName, required, body) {
  let session;
  try {
    const args = parseArgs(required);
    session = await BrowserSession.open(args, scriptName);
    session.log(`screenshots go to ${path.resolve(args.out)}`);
    await body(session, args);
    session.log('ok');
    await session.close();
    process.exit(0);
  } catch (err) {
    console.error(`${scriptName}: FAILED: ${err.stack || err}`);
    if (session) {
      try {
        await session.screenshot('failure');
      } catch {
        // the browser is gone; the error above says why
      }
      await session.close().catch(() => {});
    }
    process.exit(1);
  }
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}
