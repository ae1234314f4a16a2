/**
 * Test harness for the webviews: bundles a view with esbuild's JS API (the same shape as the lead's
 * esbuild.js: webview/<view>/main.ts → iife for the browser, plus webview/<view>/<view>.css), serves the
 * page that webview/contract.ts `renderHtml` produces (real nonce CSP) from a fake origin, stubs
 * `acquireVsCodeApi` (records posted messages and setState), and records CSP violations and page errors.
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunEvent } from '../core/experiment/events';
import { makeNonce, renderHtml, type HostToWebview, type ViewName } from '../webview/contract';
import { ROOT } from './paths';
import { CHROMIUM, launchChromium } from './chromium.mjs';

export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
const ORIGIN = 'https://flowloop.test';

/**
 * Bundles webview/<view>/main.ts in memory as the lead's esbuild.js does (iife, browser, `.css` loader):
 * main.ts imports its stylesheets, so esbuild emits <view>.js and <view>.css side by side
 * (dist/webview/<view>.js and dist/webview/<view>.css in the real build).
 */
export async function bundleView(view: ViewName): Promise<{ js: string; css: string }> {
  const r = await build({
    entryPoints: [join(ROOT, 'webview', view, 'main.ts')],
    outfile: join(ROOT, 'dist', 'webview', `${view}.js`),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
    loader: { '.css': 'css' },
  });
  const js = r.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = r.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css)
    throw new Error(`bundling ${view}: expected ${view}.js and ${view}.css, got ${r.outputFiles.map((f) => f.path).join(', ')}`);
  return { js: js.text, css: css.text };
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium (CI: .ci/install-test-host.sh)`);
  return launchChromium(['--headless']);
}

export interface ViewPage {
  page: Page;
  /** Messages the view posted to the host so far. */
  sent(): Promise<{ type: string; [k: string]: unknown }[]>;
  /** Last state passed to setState. */
  state(): Promise<unknown>;
  /** CSP violations and uncaught page errors so far. */
  problems(): Promise<string[]>;
  /** Posts a host → webview message (as VS Code would, via window.postMessage). */
  send(msg: HostToWebview): Promise<void>;
}

/** How a view's page opens: `savedState` is what getState returns (a restored panel); viewport 1100×700 unless given. */
export interface OpenOptions {
  savedState?: unknown;
  width?: number;
  height?: number;
  theme?: 'dark' | 'light';
}

/** Opens a view in a fresh page. */
export async function openView(
  browser: Browser,
  view: ViewName,
  bundle: { js: string; css: string },
  o: OpenOptions = {},
): Promise<ViewPage> {
  const page = await browser.newPage({ viewport: { width: o.width ?? 1100, height: o.height ?? 700 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  // A string, not a function: tsx's transform would inject helpers (__name) the page does not have.
  await page.addInitScript(`(() => {
    const w = window;
    w.__sent = []; w.__state = ${JSON.stringify(o.savedState ?? null)} ?? undefined; w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__violations.push('CSP ' + e.violatedDirective + ': ' + e.blockedURI + ' ' + (e.sample || '') + ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber));
    w.acquireVsCodeApi = () => ({
      postMessage: (m) => w.__sent.push(JSON.parse(JSON.stringify(m))),
      getState: () => w.__state,
      setState: (s) => { w.__state = s; },
    });
  })();`);
  const nonce = makeNonce();
  const html = renderHtml(view, {
    scriptUri: `${ORIGIN}/dist/webview/${view}.js`,
    styleUri: `${ORIGIN}/dist/webview/${view}.css`,
    nonce,
    cspSource: ORIGIN,
  });
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith(`/${view}.js`)) return route.fulfill({ contentType: 'text/javascript', body: bundle.js });
    if (url.endsWith(`/${view}.css`))
      return route.fulfill({ contentType: 'text/css', body: (o.theme === 'light' ? LIGHT_THEME : DARK_THEME) + bundle.css }); // VS Code puts the theme's variables on <html>
    if (url === `${ORIGIN}/index.html`) return route.fulfill({ contentType: 'text/html', body: html });
    return route.fulfill({ status: 404, body: '' });
  });
  await page.goto(`${ORIGIN}/index.html`);
  return {
    page,
    sent: () => page.evaluate(() => (window as unknown as { __sent: { type: string }[] }).__sent),
    state: () => page.evaluate(() => (window as unknown as { __state: unknown }).__state),
    problems: async () => [...pageErrors, ...(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations))],
    send: (msg) => page.evaluate((m) => window.postMessage(m, '*'), msg),
  };
}

/**
 * Saves a PNG of the page into test-artifacts/; with UPDATE_SCREENSHOTS=1 also into docs/screenshots/ for the README
 * (only when the image changed), so an ordinary test run leaves the tracked files alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = await page.screenshot({ type: 'png' });
  writeFileSync(join(ARTIFACTS, `${name}.png`), png);
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const doc = join(SCREENSHOTS, `${name}.png`);
  if (!existsSync(doc) || !readFileSync(doc).equals(png)) writeFileSync(doc, png);
}

/** Reads a JSON fixture from test/webview/fixtures/. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'webview', 'fixtures', name), 'utf8')) as T;
}

/** Reads a recorded run's events (an events.jsonl: one event a line) from test/webview/fixtures/. */
export function fixtureEvents(name: string): RunEvent[] {
  return readFileSync(join(ROOT, 'test', 'webview', 'fixtures', name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
}

/** A dark theme's --vscode-* variables (a subset of VS Code's Dark Modern) so screenshots look like VS Code. */
export const DARK_THEME = `
html { --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-foreground: #cccccc;
  --vscode-editor-background: #1f1f1f; --vscode-descriptionForeground: #9d9d9d; --vscode-charts-red: #f14c4c;
  --vscode-charts-blue: #3794ff; --vscode-charts-green: #89d185; --vscode-charts-yellow: #cca700; --vscode-charts-orange: #d18616;
  --vscode-charts-purple: #b180d7; --vscode-charts-foreground: #cccccc; --vscode-charts-lines: #444444;
  --vscode-textLink-foreground: #4daafc; --vscode-focusBorder: #0078d4; --vscode-editorWidget-border: #454545;
  --vscode-editorHoverWidget-background: #202020; --vscode-editorHoverWidget-border: #454545; --vscode-button-background: #0078d4;
  --vscode-panel-border: #2b2b2b; --vscode-editor-font-family: monospace; --vscode-textCodeBlock-background: #2b2b2b;
  --vscode-list-hoverBackground: #2a2d2e; --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c; }`;

/** A light theme's --vscode-* variables (a subset of VS Code's Light Modern), for the light screenshots. */
export const LIGHT_THEME = `
html { --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-foreground: #3b3b3b;
  --vscode-editor-background: #ffffff; --vscode-descriptionForeground: #717171; --vscode-charts-red: #e51400;
  --vscode-charts-blue: #1a85ff; --vscode-charts-green: #388a34; --vscode-charts-yellow: #bf8803; --vscode-charts-orange: #d18616;
  --vscode-charts-purple: #652d90; --vscode-charts-foreground: #616161; --vscode-charts-lines: #d4d4d4;
  --vscode-textLink-foreground: #005fb8; --vscode-focusBorder: #005fb8; --vscode-editorWidget-border: #c8c8c8;
  --vscode-editorHoverWidget-background: #f8f8f8; --vscode-editorHoverWidget-border: #c8c8c8; --vscode-button-background: #005fb8;
  --vscode-panel-border: #e5e5e5; --vscode-editor-font-family: monospace; --vscode-textCodeBlock-background: #f2f2f2;
  --vscode-list-hoverBackground: #f2f2f2; --vscode-list-inactiveSelectionBackground: #e4e6f1; --vscode-testing-iconPassed: #388a34; --vscode-testing-iconFailed: #e51400;
  --vscode-dropdown-background: #ffffff; --vscode-dropdown-foreground: #3b3b3b; --vscode-dropdown-border: #cecece;
  --vscode-input-background: #ffffff; --vscode-input-foreground: #3b3b3b; --vscode-input-border: #cecece; --vscode-input-placeholderForeground: #767676;
  --vscode-checkbox-background: #f8f8f8; --vscode-checkbox-foreground: #3b3b3b; --vscode-checkbox-border: #cecece;
  --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #0258a8; --vscode-button-secondaryBackground: #e5e5e5;
  --vscode-button-secondaryForeground: #3b3b3b; --vscode-button-secondaryHoverBackground: #cccccc; }`;
