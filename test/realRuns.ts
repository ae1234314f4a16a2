/**
 * Real runs made inside a test (not recorded fixtures): the RQ1 demo (Flower vs SFT on 100 movie titles,
 * examples/rq1/demo.flowloop.json), the quick sequential run (examples/quick.flowloop.json: SASRec one
 * epoch on 512 LastFM rows) and AFL with the built-in rule-based agents on 5 LastFM users
 * (test/extension/workspace/afl.flowloop.json). Each is run once per test process, through the same
 * runner as the CLI and the extension's worker, into a fresh temporary runs folder, removed when the test process
 * exits cleanly (kept, and its path printed, when a test failed or FLOWLOOP_KEEP_TEST_RUNS is set).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSingle, type RunResult } from '../core/experiment/runner';
import { ROOT } from '../harness/paths';

export const REAL_CONFIGS = {
  demo: join(ROOT, 'examples', 'rq1', 'demo.flowloop.json'),
  quick: join(ROOT, 'examples', 'quick.flowloop.json'),
  afl: join(ROOT, 'test', 'extension', 'workspace', 'afl.flowloop.json'),
} as const;
export type RealRunName = keyof typeof REAL_CONFIGS;

let out: string | undefined;
const runs = new Map<RealRunName, Promise<RunResult>>();

/** The run folder of a real run of `name`, made on first use (fails the test if the run did not finish). */
export async function realRun(name: RealRunName): Promise<RunResult> {
  if (!out) {
    const dir = (out = mkdtempSync(join(tmpdir(), 'flowloop-real-runs-')));
    process.once('exit', (code) => {
      if (code === 0 && !process.env.FLOWLOOP_KEEP_TEST_RUNS) rmSync(dir, { recursive: true, force: true });
      else console.error(`real runs kept in ${dir}`);
    });
  }
  if (!runs.has(name)) runs.set(name, runSingle({ configPath: REAL_CONFIGS[name], outDir: out }));
  const r = await runs.get(name)!;
  if (r.status !== 'finished') throw new Error(`the real ${name} run ended ${r.status}: ${r.error ?? ''} (${r.runDir})`);
  return r;
}
