// Entry the extension host require()s (extensionTestsPath): registers the tests, runs them, writes the
// results file named by FLOWLOOP_TEST_RESULTS, and rejects when any failed (→ codeAutomationExit(1)).
import { runAll } from './harness';

// FLOWLOOP_TEST_MODE=untrusted: the launcher opened the workspace in restricted mode (workspace trust on)
// (a conditional CommonJS require: only one suite may register its tests in this host)
// eslint-disable-next-line @typescript-eslint/no-require-imports
if (process.env.FLOWLOOP_TEST_MODE === 'untrusted') require('./untrusted.test');
else {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./extension.test');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./slurm.test');
}

export async function run(): Promise<void> {
  const r = await runAll(process.env.FLOWLOOP_TEST_RESULTS);
  if (r.failed) throw new Error(`${r.failed} extension test(s) failed`);
}
