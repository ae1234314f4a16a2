#!/usr/bin/env node
// README screenshot (not a test; as root): a sweep running on the real one-node Slurm cluster of
// test/slurm/cluster.ts, submitted from the command line with --detach, then seen in the editor's
// experiment tree after the window opened (it reattaches). Writes docs/screenshots/slurm-sweep.png.
// usage: node --import tsx test/slurm/screenshot.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, launchBrowser, makeWorkspace, removeDir, startCodeServer, tempDir, workbenchUrl } from '../extension/host.mjs';
import { startCluster } from './cluster.ts';

const cluster = startCluster();
const tmp = tempDir('flowloop-slurm-shot-');
let host, browser;
try {
  const ws = makeWorkspace(tmp);
  mkdirSync(join(ws, '.flowloop'), { recursive: true });
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  // 6 of the node's 8 CPUs per point: one point runs, the other waits for resources
  writeFileSync(
    join(ws, '.flowloop', 'executors.json'),
    JSON.stringify(
      { default: 'cpu', profiles: { cpu: { executor: 'slurm', partition: 'debug', cpus: 6, time: '10', setup: ['sleep 90'] } } },
      null,
      2,
    ),
  );
  writeFileSync(
    join(ws, '.vscode', 'settings.json'),
    JSON.stringify({ 'flowloop.executor': 'slurm', 'flowloop.executorProfile': 'cpu' }, null, 2),
  );
  const out = execFileSync(
    process.execPath,
    [join(ROOT, 'dist', 'cli.js'), 'run', join(ws, 'sweep.flowloop.json'), '--executor', 'slurm', '--detach', '--dir', ws],
    { cwd: ws, env: cluster.env, encoding: 'utf8' },
  );
  console.log(out.trim());
  host = await startCodeServer({ tmp, workspace: ws, env: { SLURM_CONF: cluster.conf } });
  browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  await page.goto(workbenchUrl(host));
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.locator('.activitybar .action-item a[aria-label^="Flowloop"]').first().click({ timeout: 60000 });
  const row = page.locator('.monaco-list-row', { hasText: 'sweep.flowloop.json' }).last();
  await row.waitFor({ timeout: 30000 });
  if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
  const sweep = page.locator('.monaco-list-row', { hasText: 'sweep · running' }).first();
  await sweep.waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);
  await sweep.click();
  await page.keyboard.press('ArrowRight');
  await page
    .locator('.monaco-list-row', { hasText: /slurm (running|pending)/ })
    .first()
    .waitFor({ timeout: 30000 })
    .catch(async (e) => {
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'slurm-shot-failure.png') });
      throw e;
    });
  await page.waitForTimeout(1500);
  mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'docs', 'screenshots', 'slurm-sweep.png') });
  console.log('docs/screenshots/slurm-sweep.png written');
} finally {
  await browser?.close().catch(() => {});
  await host?.stop();
  cluster.stop();
  removeDir(tmp);
}
