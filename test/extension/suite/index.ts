// Entry the extension host require()s (extensionTestsPath): registers the tests, runs them, writes the
// results file named by FLOWLOOP_TEST_RESULTS, and rejects when any failed (→ codeAutomationExit(1)).
import { runAll } from './harness';
import './extension.test';

export async function run(): Promise<void> {
  const r = await runAll(process.env.FLOWLOOP_TEST_RESULTS);
  if (r.failed) throw new Error(`${r.failed} extension test(s) failed`);
}
