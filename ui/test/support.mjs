// Shared test plumbing: a static server for dist/ (with the app's CSP), Debian's Chromium through
// playwright-core, and a page factory that injects the mock back end before the app loads.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const uiDir = path.resolve(here, '..');
export const distDir = path.join(uiDir, 'dist');
export const mockScript = path.join(uiDir, 'test-dist', 'mock.js');
export const screensDir = path.join(uiDir, 'test-results', 'screens');
export const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'";

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

export function serveDist() {
  for (const f of [path.join(distDir, 'index.html'), mockScript]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` and \`npm run build:mock\` first`);
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let p = path.normalize(path.join(distDir, decodeURIComponent(url.pathname)));
    if (!p.startsWith(distDir)) {
      res.writeHead(403).end();
      return;
    }
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) p = path.join(p, 'index.html');
    if (!fs.existsSync(p)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(p)] ?? 'application/octet-stream', 'content-security-policy': CSP });
    fs.createReadStream(p).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

/**
 * A fresh page with the mock back end configured by `config` (see test/mock/backend.ts).
 * CSP violations and page errors are collected so tests can assert there were none.
 */
export async function openApp(browser, baseUrl, config = {}, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript((c) => {
    window.__MOCK_CONFIG__ = c;
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  }, config);
  await page.addInitScript({ path: mockScript });
  await page.goto(baseUrl);
  return { page, context, problems };
}

/** What the mock back end was asked, by command. */
export function callsOf(page, cmd) {
  return page.evaluate((c) => window.__mock.callsOf(c), cmd);
}

export async function screenshot(page, name) {
  fs.mkdirSync(screensDir, { recursive: true });
  await page.screenshot({ path: path.join(screensDir, `${name}.png`), fullPage: true });
}

const axeSource = fs.readFileSync(path.join(uiDir, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** Runs axe-core in the page; returns serious and critical violations (as readable strings). */
export async function axe(page) {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not block it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.join(', ')}`);
}

/**
 * Runs axe on a screen in English and in Japanese: `open(locale)` opens and prepares it and
 * returns `{ page, context }`. The serious and critical violations found, by locale (empty: none).
 */
export async function axeInBothLocales(open) {
  const found = [];
  for (const locale of ['en', 'ja']) {
    const { page, context } = await open(locale);
    const v = await axe(page);
    if (v.length > 0) found.push([locale, v]);
    await context.close();
  }
  return found;
}

/** Types like a keyboard-wedge scanner: fast keys ending in Enter, with nothing focused on purpose. */
export async function scan(page, code) {
  await page.keyboard.type(`${code}\n`, { delay: 5 });
}

/** Records every tone the app plays (oscillator frequency at start), so tests can hear the beeps. */
export async function recordTones(page) {
  await page.evaluate(() => {
    window.__tones = [];
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...a) {
      window.__tones.push(this.frequency.value);
      return start.apply(this, a);
    };
  });
}

/** before/after hooks for one browser and one static server per test file. */
export function useBrowser(test) {
  const env = { browser: null, base: '' };
  let server;
  test.before(async () => {
    server = await serveDist();
    env.base = server.url;
    env.browser = await launch();
  });
  test.after(async () => {
    await env.browser?.close();
    await server?.close();
  });
  return env;
}
