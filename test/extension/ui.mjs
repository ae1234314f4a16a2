// UI test, as a person would use it: code-server's workbench in headless Chromium with the extension under
// development; open examples' quick config, click the `▶ Run` CodeLens, watch the progress notification,
// wait for the run to finish, open the Flowloop sidebar, and save screenshots into test-artifacts/.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, checkRunner, latestRun, makeWorkspace, removeDir, startByLens, tempDir, uiSession } from './host.mjs';

export async function runUiTest() {
  const results = [];
  const t0 = Date.now();
  const tmp = tempDir('flowloop-ui-test-');
  const workspace = makeWorkspace(tmp);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `ui-${name}.png`) });
  const session = uiSession({ tmp, workspace });
  let page;
  const step = checkRunner(results, 'UI', {
    onFailure: (name) => page?.screenshot({ path: join(ARTIFACTS, `ui-failure-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {}),
  });
  try {
    if (!existsSync(join(workspace, 'quick.flowloop.json'))) throw new Error('examples/quick.flowloop.json is missing');
    page = await session.start();
    const ok = await step('open the quick config and see the ▶ Run CodeLens', async () => {
      await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
      await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
      await page.locator('.explorer-folders-view .monaco-list-row[aria-label="quick.flowloop.json"]').click();
      await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).waitFor({ timeout: 60000 });
      await shot(page, 'codelens');
    });
    if (ok) {
      let started = 0;
      await step('click ▶ Run: ■ Stop replaces it and a progress notification reports the worker', async () => {
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).click();
        started = Date.now();
        await page.locator('.codelens-decoration a', { hasText: '■ Stop' }).waitFor({ timeout: 30000 });
        const toast = page.locator('.notification-toast', { hasText: 'Flowloop:' }).first();
        await toast.waitFor({ timeout: 30000 });
        await page.waitForTimeout(400); // the toast slides in
        await shot(page, 'progress');
      });
      await step('the run finishes (run.json status finished)', async () => {
        for (;;) {
          const r = latestRun(workspace);
          if (r && r.info.status !== 'running') {
            if (r.info.status !== 'finished') throw new Error(`run ended ${r.info.status}: ${r.info.error ?? ''}`);
            break;
          }
          if (Date.now() - started > 240000) throw new Error('run did not finish in 240 s');
          await page.waitForTimeout(500);
        }
        await page.waitForTimeout(1500); // let the live view draw the last events
        await shot(page, 'run-finished');
      });
      await step('the Flowloop sidebar lists the config and its finished run', async () => {
        await page.locator('.activitybar .action-item a[aria-label^="Flowloop"]').first().click();
        const row = page.locator('.monaco-list-row', { hasText: /(^|[^-])quick\.flowloop\.json/ }).last();
        await row.waitFor({ timeout: 20000 });
        if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
        await page.locator('.monaco-list-row .codicon-pass').first().waitFor({ timeout: 20000 });
        await shot(page, 'sidebar');
      });
      await step('Cancel on the progress notification stops a long run: cancelled, no worker left', async () => {
        await page
          .locator('.explorer-folders-view .monaco-list-row', { hasText: 'slow.flowloop.json' })
          .click({ timeout: 3000 })
          .catch(async () => {
            await page.locator('.activitybar .action-item a[aria-label^="Explorer"]').first().click();
            await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'slow.flowloop.json' }).click();
          });
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).waitFor({ timeout: 30000 });
        const run = await startByLens(page, workspace, 'slow');
        const toast = page.locator('.notification-toast', { hasText: 'Flowloop: slow' }).first();
        await toast.waitFor({ timeout: 20000 });
        await toast.hover();
        await page.waitForTimeout(1500);
        await shot(page, 'progress-cancel');
        const tc = Date.now();
        await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
        for (;;) {
          const r = latestRun(workspace);
          if (r.info.status === 'cancelled') break;
          if (r.info.status !== 'running') throw new Error(`ended ${r.info.status}`);
          if (Date.now() - tc > 20000) throw new Error('not cancelled 20 s after Cancel');
          await page.waitForTimeout(200);
        }
        console.log(`UI: Cancel → run.json cancelled in ${Date.now() - tc} ms`);
        for (let i = 0; ; i++) {
          try {
            process.kill(run.info.pid, 0);
          } catch {
            break;
          }
          if (i > 50) throw new Error(`worker ${run.info.pid} still alive 5 s after cancel`);
          await page.waitForTimeout(100);
        }
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).waitFor({ timeout: 10000 });
      });
      await step('Reload Window (the extension host deactivates) stops a running worker; the view is restored', async () => {
        const run = await startByLens(page, workspace, 'slow');
        await page.keyboard.press('Control+Shift+P');
        await page.waitForSelector('.quick-input-widget input', { timeout: 10000 });
        await page.keyboard.type('Developer: Reload Window');
        await page.waitForTimeout(500);
        await page.keyboard.press('Enter');
        const tr = Date.now();
        for (let i = 0; ; i++) {
          try {
            process.kill(run.info.pid, 0);
          } catch {
            break;
          }
          if (Date.now() - tr > 20000) throw new Error(`worker ${run.info.pid} alive 20 s after the reload`);
          await new Promise((r) => setTimeout(r, 100));
        }
        console.log(`UI: reload → worker gone in ${Date.now() - tr} ms; run.json ${latestRun(workspace).info.status}`);
        await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
      });
      await step('the live view beside the editor shows the run', async () => {
        const frame = page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
        // after Reload Window the host re-activates and restores the panel (WebviewPanelSerializer): minutes under load
        await frame.locator('#app').waitFor({ timeout: 180000 });
        await frame.locator('#app *').first().waitFor({ timeout: 60000 });
        const text = await frame.locator('#app').innerText();
        if (!text.trim()) throw new Error('the view is empty');
        await shot(page, 'view');
      });
    }
  } catch (e) {
    results.push({ name: 'UI: harness', ok: false, error: e.message });
  } finally {
    const left = await session.stop();
    // keep the Output channel ("Flowloop") as an artifact: the worker log a person would read. Each extension
    // host (the window before and after Reload Window) writes its own file: keep them all, oldest first.
    let outputLog = '';
    try {
      const logs = execFileSync('find', [join(tmp, 'user-data', 'logs'), '-name', '*Flowloop.log'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
      outputLog = logs.map((f) => readFileSync(f, 'utf8')).join('');
      writeFileSync(join(ARTIFACTS, 'ui-flowloop-output.log'), outputLog);
    } catch {
      /* no log */
    }
    if (session.host) {
      const want = [
        /\[quick\] start .*quick\.flowloop\.json \(worker pid \d+\)/,
        /\[quick\] run folder .*\.flowloop\/runs\//,
        /\[quick\] finished — /,
        /\[slow\] cancel requested/,
      ];
      const missing = want.filter((re) => !re.test(outputLog));
      results.push({
        name: 'UI: the Flowloop Output channel holds the worker log (start, run folder, finished, cancel)',
        ok: !missing.length,
        error: `${outputLog.length} bytes in the Output channel's log; missing ${missing.map(String).join(', ')}`,
      });
    }
    if (left?.length) results.push({ name: 'UI: no process left', ok: false, error: `still alive: ${left.join(' ')}` });
    removeDir(tmp);
  }
  // UPDATE_SCREENSHOTS=1: copy the run as a person sees it into docs/screenshots/ for the README
  const best = join(ARTIFACTS, 'ui-sidebar.png');
  if (process.env.UPDATE_SCREENSHOTS && existsSync(best) && results.every((r) => r.ok)) {
    mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(best, join(ROOT, 'docs', 'screenshots', 'vscode-run.png'));
  }
  console.log(`UI test: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${ARTIFACTS}`);
  return results;
}
