// The views on real runs in the real workbench (code-server + Chromium), as a person uses them: the test
// runs the RQ1 demo (examples/rq1/demo.flowloop.json at 2 epochs and 1,000 distribution samples, so the
// suite stays bounded on a busy CI machine), the quick sequential run and AFL with the built-in agents on
// 5 LastFM users, each started by clicking ▶ Run; then it opens the views from the command palette and the
// runs table, and checks what each one shows inside its webview: the runs table's row follows the running
// demo (progress), coloured trie cells at the final Flower checkpoint, the runs table's rows and columns,
// and the comparison (SFT and Flower rows for the demo, the sequential row, the AFL table) opened from the
// table's selection. Every wait is on a condition (a file, an element, a value), never a fixed time.
/* global document -- the functions given to frame.evaluate / waitForFunction run in the webview page */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { ARTIFACTS, ROOT, checkRunner, latestRun, makeWorkspace, removeDir, retarget, startByLens, tempDir, uiSession } from './host.mjs';

/** Poll interval of the condition waits below (not a sleep standing in for a condition). */
const POLL_MS = 250;

/** The demo config at a size a UI test can afford (2 epochs: SFT then Flower, several checkpoints each). */
function writeDemo(workspace) {
  const src = join(ROOT, 'examples', 'rq1', 'demo.flowloop.json');
  const c = retarget(JSON.parse(readFileSync(src, 'utf8')), dirname(src), workspace);
  delete c.$schema;
  Object.assign(c, { name: 'demo-ui', epochs: 2, distribution: { ...c.distribution, samples: 1000 } });
  c.description = `${c.description} (UI test: 2 epochs, 1,000 samples)`;
  writeFileSync(join(workspace, 'demo-ui.flowloop.json'), JSON.stringify(c, null, 2) + '\n');
}

/** Waits until `fn()` returns a truthy value (polled), or throws `what` after `ms`. */
async function until(page, what, fn, ms) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not after ${ms / 1000} s`);
    await page.waitForTimeout(POLL_MS);
  }
}

/** The webview frame (any panel) that has `selector` in it. */
async function viewFrame(page, selector, ms = 120000) {
  return until(
    page,
    `a webview with ${selector}`,
    async () => {
      for (const f of page.frames()) {
        try {
          if (await f.$(selector)) return f;
        } catch {
          /* detached while looking */
        }
      }
      return undefined;
    },
    ms,
  );
}

/** Runs a command from the command palette by its title ("Flowloop: Show Runs Table"). */
async function paletteCommand(page, title) {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 30000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 30000 });
}

/** Opens a workspace file in the editor from the Explorer, alone (every other editor and view closed first). */
async function openFile(page, name) {
  await paletteCommand(page, 'View: Close All Editors');
  await until(page, 'no editor open', async () => (await page.locator('.tabs-container .tab').count()) === 0, 30000);
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  if (!(await row.isVisible().catch(() => false)))
    await page.locator('.activitybar .action-item a[aria-label^="Explorer"]').first().click();
  await row.click({ timeout: 30000 });
  await page.locator(`.tab.active[data-resource-name="${name}"]`).first().waitFor({ timeout: 30000 });
}

/** Waits for a run folder's run.json to leave "running"; throws unless it finished. */
async function finished(page, run, ms) {
  const info = await until(
    page,
    `the ${run.info.name} run finished`,
    () => {
      try {
        const i = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8'));
        return i.status === 'running' ? undefined : i;
      } catch {
        return undefined; // being rewritten
      }
    },
    ms,
  );
  if (info.status !== 'finished') throw new Error(`the ${info.name} run ended ${info.status}: ${info.error ?? ''}`);
  return info;
}

/** A runs-table cell's text by row key and column id (the first cell is the selection box). */
function runsCell(frame, key, col) {
  return frame.evaluate(
    ([k, c]) => {
      const cols = [...document.querySelectorAll('#runs th')].map((th) => th.getAttribute('data-col'));
      const row = document.querySelector(`#runs tr.row[data-key="${k}"]`);
      const i = cols.indexOf(c);
      return row && i >= 0 ? (row.children[i]?.textContent ?? '') : undefined;
    },
    [key, col],
  );
}

export async function runUiViewsTest() {
  const results = [];
  const t0 = Date.now();
  const tmp = tempDir('flowloop-ui-views-');
  const workspace = makeWorkspace(tmp);
  writeDemo(workspace);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `ui-views-${name}.png`) });
  const session = uiSession({ tmp, workspace });
  let page;
  const runs = {};
  const step = checkRunner(results, 'UI views', {
    onFailure: (name) =>
      page?.screenshot({ path: join(ARTIFACTS, `ui-views-failure-${name.replace(/\W+/g, '-').slice(0, 60)}.png`) }).catch(() => {}),
  });
  try {
    page = await session.start();
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 120000 });

    await step('the runs table follows a running run live (its progress cell changes while it runs), then Stop', async () => {
      // the slow fixture (minutes of SASRec epochs): long enough on any machine to watch, then stopped
      await openFile(page, 'slow.flowloop.json');
      await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).first().waitFor({ timeout: 60000 });
      const run = await startByLens(page, workspace, 'slow');
      runs.slow = run;
      await paletteCommand(page, 'Flowloop: Show Runs Table');
      const key = `${run.info.id}`;
      const frame = await viewFrame(page, `#runs tr.row[data-run="${key}"]`);
      const seen = [];
      await until(
        page,
        'two different progress values in the running row',
        async () => {
          const status = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).status;
          const p = await runsCell(frame, key, 'progress');
          if (p && !seen.includes(p)) seen.push(p);
          if (status !== 'running' && seen.length < 2)
            throw new Error(`the run ended ${status} before the table showed two progress values (saw: ${seen.join(' | ') || 'none'})`);
          return seen.length >= 2;
        },
        240000,
      );
      if (!seen.every((p) => /% of the run$/.test(p))) throw new Error(`progress cells: ${seen.join(' | ')}`);
      console.log(`UI views: runs table progress while a run ran: ${seen.join(' | ')}`);
      await shot('runs-live');
      await paletteCommand(page, 'Flowloop: Stop Run');
      await until(
        page,
        'the slow run cancelled',
        () => JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).status === 'cancelled',
        60000,
      );
    });

    const demoOk = await step('the demo runs from ▶ Run and finishes', async () => {
      await openFile(page, 'demo-ui.flowloop.json');
      await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).first().waitFor({ timeout: 60000 });
      const run = await startByLens(page, workspace, 'demo-ui');
      runs.demo = run;
      await finished(page, run, 600000);
    });

    await step('the quick sequential run and the AFL run (built-in agents, 5 LastFM users) run from ▶ Run', async () => {
      for (const [file, name, key] of [
        ['quick.flowloop.json', 'quick', 'quick'],
        ['afl.flowloop.json', 'afl-small', 'afl'],
      ]) {
        await openFile(page, file);
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).first().waitFor({ timeout: 60000 });
        const run = await startByLens(page, workspace, name);
        runs[key] = run;
        await finished(page, run, 300000);
      }
    });

    if (demoOk)
      await step('Show Trie Flow on the demo: every cell coloured at the final Flower checkpoint, each colour in the legend', async () => {
        await openFile(page, 'demo-ui.flowloop.json');
        await paletteCommand(page, 'Flowloop: Show Trie Flow');
        const frame = await viewFrame(page, '#trie g.node');
        const last = await frame.evaluate(() => {
          const s = document.querySelector('#checkpoint');
          const before = Number(document.body.dataset.rendered ?? 0);
          s.value = s.max;
          s.dispatchEvent(new Event('input'));
          return { max: Number(s.max), before };
        });
        await frame.waitForFunction((b) => Number(document.body.dataset.rendered ?? 0) > b, last.before, { timeout: 60000 });
        const label = (await frame.locator('#checkpoint-label').textContent()) ?? '';
        if (!/^flower epoch \d+ \((\d+)\/\1\)$/.test(label)) throw new Error(`the last checkpoint is "${label}", not the final Flower one`);
        const cells = await frame.locator('#trie g.node').evaluateAll((els) =>
          els.map((g) => ({
            cls: [...g.classList].filter((c) => c !== 'node' && c !== 'hit')[0],
            opacity: Number(g.querySelector('rect')?.getAttribute('fill-opacity')),
          })),
        );
        const legend = await frame.locator('#legend .swatch').evaluateAll((els) => els.map((e) => e.getAttribute('data-cls')));
        // prefix cells (not the "+N more" aggregates nor the flow of children left out of the snapshot) carry a policy colour
        const prefixes = cells.filter((c) => c.cls !== 'agg' && c.cls !== 'missing');
        const grey = prefixes.filter((c) => !['over', 'under', 'match'].includes(c.cls) || !(c.opacity >= 0.4));
        if (prefixes.length < 20 || grey.length)
          throw new Error(`${prefixes.length} prefix cells at ${label}, ${grey.length} grey or faint: ${JSON.stringify(grey.slice(0, 3))}`);
        const unexplained = [...new Set(cells.map((c) => c.cls))].filter((c) => !legend.includes(c));
        if (unexplained.length) throw new Error(`colours without a legend entry: ${unexplained.join(', ')} (legend: ${legend.join(', ')})`);
        console.log(`UI views: trie at ${label}: ${cells.length} cells, classes ${[...new Set(cells.map((c) => c.cls))].join('/')}`);
        await shot('trie');
      });

    if (runs.slow && runs.demo && runs.quick && runs.afl) {
      const ids = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.info.id]));
      let table;
      await step(
        'Show Runs Table: a row per run and per variant (demo: sft and flower), config columns that differ, metric columns',
        async () => {
          await paletteCommand(page, 'Flowloop: Show Runs Table');
          table = await viewFrame(page, `#runs tr.row[data-key="${ids.demo}·flower"]`);
          await until(
            page,
            'five rows (the stopped slow run, demo sft + flower, quick, afl)',
            async () => (await table.locator('#runs tr.row').count()) === 5,
            60000,
          );
          const keys = await table.locator('#runs tr.row').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
          const want = [ids.slow, `${ids.demo}·sft`, `${ids.demo}·flower`, ids.quick, ids.afl];
          if ([...keys].sort().join() !== [...want].sort().join()) throw new Error(`rows ${keys.join(', ')}; want ${want.join(', ')}`);
          const cols = await table.locator('#runs th').evaluateAll((els) => els.map((e) => e.getAttribute('data-col')).filter(Boolean));
          const need = [
            'run',
            'variant',
            'kind',
            'status',
            'config:seed',
            'config:epochs',
            'metric:kl(target||gen)',
            'metric:coverage',
            'metric:test/cand_hr@1',
            'metric:AFL HR@1',
          ];
          const missing = need.filter((c) => !cols.includes(c));
          if (missing.length) throw new Error(`columns missing: ${missing.join(', ')} (have ${cols.join(', ')})`);
          if (cols.includes('progress')) throw new Error('a progress column although no run is running');
          const kl = await runsCell(table, `${ids.demo}·flower`, 'metric:kl(target||gen)');
          const metrics = JSON.parse(readFileSync(join(runs.demo.dir, 'metrics.json'), 'utf8'));
          const want2 = metrics.flower?.['kl(target||gen)'] ?? metrics['flower/kl(target||gen)'];
          if (!(Math.abs(Number(kl) - want2) <= 1e-3 * Math.max(1, Math.abs(want2))))
            throw new Error(`flower KL cell "${kl}" vs metrics.json ${want2}`);
          await shot('runs-table');
        },
      );

      await step(
        'Compare selected (runs table) opens the comparison: SFT and Flower rows for the demo, the sequential row, the AFL table',
        async () => {
          if (!table) throw new Error('no runs table');
          for (const k of [`${ids.demo}·sft`, ids.quick, ids.afl])
            await table.locator(`#runs tr.row[data-key="${k}"] input[type=checkbox]`).click();
          await table.locator('#compare-selected').click();
          const cmp = await viewFrame(page, 'section[data-table="distribution"] tr.run');
          const dist = await cmp.locator('section[data-table="distribution"] tr.run td.run').allTextContents();
          if (dist.join('|') !== 'demo-ui · sft|demo-ui · flower') throw new Error(`distribution rows: ${dist.join(', ')}`);
          const seq = await cmp.locator('section[data-table="sequential"] tr.run td.run').allTextContents();
          if (seq.length !== 1 || !seq[0].startsWith('quick')) throw new Error(`sequential rows: ${seq.join(', ')}`);
          const afl = await cmp.locator('section[data-table="afl"] tr.run td.run').allTextContents();
          if (afl.join('|') !== 'afl-small') throw new Error(`AFL rows: ${afl.join(', ')}`);
          const aflCells = await cmp.locator('section[data-table="afl"] tr.run td.num').allTextContents();
          if (!aflCells.some((c) => /^\d?\.\d+$|^0$|^1$/.test(c.trim()))) throw new Error(`AFL HR@1 cells: ${aflCells.join(', ')}`);
          await shot('compare');
        },
      );
    }
  } catch (e) {
    results.push({ name: 'UI views: harness', ok: false, error: e.message });
  } finally {
    const left = await session.stop();
    if (left?.length) results.push({ name: 'UI views: no process left', ok: false, error: `still alive: ${left.join(' ')}` });
    if (!latestRun(workspace)) results.push({ name: 'UI views: runs were made', ok: false, error: 'no run folder in the workspace' });
    if (results.some((r) => !r.ok)) {
      // the extension host's log beside the screenshots: activation errors, the worker's output
      try {
        const logs = execFileSync('find', [join(tmp, 'user-data', 'logs'), '-name', '*.log'], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean);
        writeFileSync(join(ARTIFACTS, 'ui-views-logs.txt'), logs.map((f) => `==> ${f}\n${readFileSync(f, 'utf8')}`).join('\n'));
      } catch {
        /* no logs */
      }
    }
    removeDir(tmp);
  }
  console.log(`UI views test: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${ARTIFACTS}`);
  return results;
}
