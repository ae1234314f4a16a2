import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test, waitFor } from './harness';
import type { FlowloopApi } from '../../../extension/extension';
import type { ManagedRun } from '../../../extension/runManager';
import type { TreeNode } from '../../../extension/tree';
import { descendants, isAlive } from '../../../extension/processTree';
import { describeLoad, scaledMs } from '../../../harness/load';

const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const quickUri = () => vscode.Uri.file(join(ws(), 'quick.flowloop.json'));
const badUri = () => vscode.Uri.file(join(ws(), 'bad.flowloop.json'));
/** The project's examples/quick.flowloop.json (copied by the launcher) when it exists, else the quick fixture. */
const exampleUri = () =>
  existsSync(join(ws(), 'example-quick.flowloop.json')) ? vscode.Uri.file(join(ws(), 'example-quick.flowloop.json')) : quickUri();

let apiCache: FlowloopApi | undefined;
async function api(): Promise<FlowloopApi> {
  if (apiCache) return apiCache;
  const ext = vscode.extensions.getExtension<FlowloopApi>('flowloop.flowloop');
  assert.ok(ext, 'extension flowloop.flowloop is not installed in the host');
  apiCache = await ext.activate();
  return apiCache;
}

async function runQuick(opts: { set?: string[] } = {}): Promise<ManagedRun> {
  const run = (await vscode.commands.executeCommand('flowloop.runExperiment', quickUri(), { openView: false, ...opts })) as
    ManagedRun | undefined;
  assert.ok(run, 'flowloop.runExperiment returned no run (refused?)');
  return run;
}

/** A worker's environment (NAME=value entries), read from /proc once the worker has started. */
async function workerEnviron(pid: number): Promise<string[]> {
  const environ = await waitFor(
    'worker environ',
    () => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        return undefined;
      }
    },
    10_000,
  );
  return environ.split('\0');
}

/**
 * The completions offered at `pos` of `uri` (labels, quotes removed) once `enough(labels)` holds: the JSON language
 * service may answer before it has the schema, so it is asked again every 0.5 s, for up to 30 s.
 */
async function completionsWhen(
  what: string,
  uri: vscode.Uri,
  pos: vscode.Position,
  enough: (labels: string[]) => boolean,
): Promise<string[]> {
  return waitFor(
    what,
    async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, pos);
      const l = (list?.items ?? []).map((i) => (typeof i.label === 'string' ? i.label : i.label.label).replace(/"/g, ''));
      return enough(l) ? l : undefined;
    },
    30_000,
    500,
  );
}

function readJson(p: string): any {
  return JSON.parse(readFileSync(p, 'utf8'));
}

function filesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) filesUnder(p, out);
    else if (st.isFile() && st.size < 50 * 1024 * 1024) out.push(p);
  }
  return out;
}

test('the extension activates in a workspace with *.flowloop.json (workspaceContains; onLanguage:json when that search gives up on a busy machine)', async () => {
  const ext = vscode.extensions.getExtension('flowloop.flowloop');
  assert.ok(ext);
  await waitFor('activation by workspaceContains', () => ext.isActive, 20_000);
});

test('every contributed command is registered, all in category "Flowloop"', async () => {
  await api();
  const ext = vscode.extensions.getExtension('flowloop.flowloop')!;
  const contributed: { command: string; category: string }[] = ext.packageJSON.contributes.commands;
  const expected = [
    'runExperiment',
    'runBaselines',
    'stopRun',
    'openRun',
    'compareRuns',
    'newFromTemplate',
    'setApiKey',
    'showTrieFlow',
    'showLossCurves',
    'showTranscripts',
    'revealRunFolder',
  ].map((c) => `flowloop.${c}`);
  for (const id of expected)
    assert.ok(
      contributed.some((c) => c.command === id),
      `${id} not contributed`,
    );
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = contributed.map((c) => c.command).filter((c) => !registered.has(c));
  assert.deepEqual(missing, [], 'contributed but not registered');
  assert.deepEqual(
    contributed.filter((c) => c.category !== 'Flowloop').map((c) => c.command),
    [],
  );
});

test('a bad config shows a diagnostic exactly on the offending value', async () => {
  const a = await api();
  const doc = await vscode.workspace.openTextDocument(badUri());
  await vscode.window.showTextDocument(doc);
  const text = doc.getText();
  const at = text.indexOf('-1');
  const diag = await waitFor('flowloop diagnostic on /seed', () =>
    vscode.languages.getDiagnostics(doc.uri).find((d) => d.source === 'flowloop' && d.code === '/seed'),
  );
  assert.deepEqual(
    [diag.range.start.line, diag.range.start.character, diag.range.end.line, diag.range.end.character],
    [doc.positionAt(at).line, doc.positionAt(at).character, doc.positionAt(at + 2).line, doc.positionAt(at + 2).character],
  );
  assert.equal(diag.severity, vscode.DiagnosticSeverity.Error);
  assert.match(diag.message, /seed/);
  assert.ok(a.diagnostics.validations > 0);
});

test('diagnostics follow typing, debounced (a burst of edits → one validation)', async () => {
  const a = await api();
  // a long debounce so that the burst stays inside it even on a busy machine (edits round-trip to the renderer)
  const cfg = vscode.workspace.getConfiguration('flowloop');
  await cfg.update('diagnostics.debounceMs', 3000, vscode.ConfigurationTarget.Global);
  try {
    const doc = await vscode.workspace.openTextDocument(badUri());
    const editor = await vscode.window.showTextDocument(doc);
    const before = a.diagnostics.validations;
    const original = doc.getText();
    const start = original.indexOf('-1');
    const t0 = Date.now();
    // five quick edits: "-1" → "-12" → ... then replace the value by 7 (valid for the seed)
    for (let i = 0; i < 4; i++) await editor.edit((e) => e.insert(doc.positionAt(start + 2 + i), '2'));
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(start), doc.positionAt(start + 6)), '7'));
    const burstMs = Date.now() - t0;
    assert.ok(
      vscode.languages.getDiagnostics(doc.uri).some((d) => d.source === 'flowloop' && d.code === '/seed'),
      'validated before the debounce delay',
    );
    await waitFor(
      'the /seed diagnostic to disappear',
      () => !vscode.languages.getDiagnostics(doc.uri).some((d) => d.source === 'flowloop' && d.code === '/seed'),
      15_000,
    );
    const ran = a.diagnostics.validations - before;
    if (burstMs < 3000) assert.equal(ran, 1, `expected 1 debounced validation for 5 edits in ${burstMs} ms`);
    // type the bad value back: the diagnostic returns
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), original));
    await doc.save();
    await waitFor(
      'the /seed diagnostic back after restoring the text',
      () => vscode.languages.getDiagnostics(doc.uri).some((d) => d.source === 'flowloop' && d.code === '/seed'),
      15_000,
    );
  } finally {
    await cfg.update('diagnostics.debounceMs', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  }
}, 60_000);

test('the schema reaches the JSON language service (contributes.jsonValidation): completion offers kind fields', async () => {
  const uri = vscode.Uri.file(join(ws(), 'schema-probe.flowloop.json'));
  await vscode.workspace.fs.writeFile(uri, Buffer.from('{\n  "kind": "sequential",\n  \n}\n'));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  const labels = await completionsWhen('schema completions', uri, new vscode.Position(2, 2), (l) => l.includes('dataset'));
  for (const key of ['dataset', 'model', 'epochs', 'seed'])
    assert.ok(labels.includes(key), `no completion for ${key}: ${labels.join(', ')}`);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.fs.delete(uri);
}, 60_000);

test('one source of diagnostics: a stray comma, a misspelt key, a bad value and a missing folder each show once, all at once, with "did you mean"', async () => {
  const uri = vscode.Uri.file(join(ws(), 'problems.flowloop.json'));
  const text =
    '{\n  "kind": "sequential",\n  "model": "sasrec",\n  "dataset": "./no-such-folder",\n  "epochs": 0,\n  "maxTrainRow": 5,\n}\n';
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  const mine = await waitFor(
    'the three Flowloop problems at once',
    () => {
      const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'flowloop');
      return d.length >= 3 ? d : undefined;
    },
    30_000,
  );
  assert.deepEqual(mine.map((d) => d.code).sort(), ['/dataset', '/epochs', '/maxTrainRow'], mine.map((d) => d.message).join('\n'));
  assert.match(mine.find((d) => d.code === '/maxTrainRow')!.message, /did you mean "maxTrainRows"\?/);
  // the JSON service has checked the file when its syntax report (the stray comma) is there
  const all = await waitFor(
    "the JSON service's report of the stray comma",
    () => {
      const d = vscode.languages.getDiagnostics(uri);
      return d.some((x) => x.source !== 'flowloop' && /comma/i.test(x.message)) ? d : undefined;
    },
    30_000,
    200,
  );
  const others = all.filter((d) => d.source !== 'flowloop');
  assert.deepEqual(
    others.map((d) => d.message).filter((m) => !/comma/i.test(m)),
    [],
    'the JSON service reports nothing but the syntax problem',
  );
  assert.equal(
    all.filter((d) => /comma/i.test(d.message)).length,
    1,
    `the stray comma is reported once: ${all.map((d) => `${d.source}: ${d.message}`).join(' | ')}`,
  );
  const places = all.map((d) => `${d.range.start.line}:${d.range.start.character}`);
  assert.equal(
    new Set(places).size,
    places.length,
    `two reports at one place: ${all.map((d) => `${d.source} ${places[all.indexOf(d)]} ${d.message}`).join(' | ')}`,
  );
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.fs.delete(uri);
}, 90_000);

test('a copied example whose "$schema" no longer resolves is flagged with a fix; after it, completion works and the flag is gone', async () => {
  const uri = vscode.Uri.file(join(ws(), 'copied-example.flowloop.json'));
  await vscode.workspace.fs.writeFile(
    uri,
    Buffer.from('{\n  "$schema": "../dist/flowloop.schema.json",\n  "kind": "sequential",\n  \n  "seed": 1\n}\n'),
  );
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  const flag = await waitFor(
    'the dangling $schema flag',
    () => vscode.languages.getDiagnostics(uri).find((d) => d.code === 'flowloop.dangling-schema'),
    30_000,
  );
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
    'vscode.executeCodeActionProvider',
    uri,
    flag.range,
    vscode.CodeActionKind.QuickFix.value,
  );
  const fix = actions.find((a) => /Remove "\$schema"/.test(a.title));
  assert.ok(fix?.edit, `no quick fix: ${actions.map((a) => a.title).join(', ')}`);
  await vscode.workspace.applyEdit(fix!.edit!);
  assert.doesNotMatch(doc.getText(), /\$schema/);
  await waitFor('the flag gone', () => !vscode.languages.getDiagnostics(uri).some((d) => d.code === 'flowloop.dangling-schema'), 30_000);
  const line = doc
    .getText()
    .split('\n')
    .findIndex((l) => l.trim() === '');
  const labels = await completionsWhen('schema completions after the fix', uri, new vscode.Position(line, 2), (l) => l.includes('dataset'));
  assert.ok(labels.includes('model'));
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.fs.delete(uri);
}, 90_000);

test('CodeLens on a config: ▶ Run · Run baselines', async () => {
  await api();
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(quickUri()));
  const lenses = await waitFor('code lenses', async () => {
    const l = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', quickUri(), 20)) ?? [];
    return l.length ? l : undefined;
  });
  const titles = lenses.map((l) => l.command?.title);
  assert.ok(titles.includes('▶ Run'), `titles: ${titles.join(' | ')}`);
  assert.ok(titles.includes('Run baselines'), `titles: ${titles.join(' | ')}`);
  assert.equal(lenses.find((l) => l.command?.title === '▶ Run')!.command!.command, 'flowloop.runExperiment');
});

test('an AFL config has a "Preview prompts" lens; the command renders a user\'s round-1 prompts with no LLM call', async () => {
  await api();
  const uri = vscode.Uri.file(join(ws(), 'afl.flowloop.json'));
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const lenses = await waitFor('AFL code lenses', async () => {
    const l = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 20)) ?? [];
    return l.some((x) => x.command?.title === 'Preview prompts') ? l : undefined;
  });
  assert.equal(lenses.find((l) => l.command?.title === 'Preview prompts')!.command!.command, 'flowloop.previewAflPrompts');
  const doc = (await vscode.commands.executeCommand('flowloop.previewAflPrompts', uri, 1)) as vscode.TextDocument;
  assert.ok(doc, 'no preview document');
  assert.match(doc.getText(), /^AFL prompt preview: user \d+ \(index 1 of \d+/);
  assert.match(doc.getText(), /=== recommendation agent, round 1\n--- system\n/);
  assert.match(doc.getText(), /=== user agent, round 1 /);
}, 120_000);

test('the tree lists the workspace configs', async () => {
  const a = await api();
  await a.store.refresh();
  const top = a.tree.getChildren();
  const labels = top.map((n) => String(a.tree.getTreeItem(n).label));
  assert.ok(labels.includes('quick.flowloop.json'), `tree: ${labels.join(', ')}`);
  assert.ok(labels.includes('bad.flowloop.json'), `tree: ${labels.join(', ')}`);
  const item = (name: string) => a.tree.getTreeItem(top[labels.indexOf(name)]);
  assert.equal((item('bad.flowloop.json').iconPath as vscode.ThemeIcon).id, 'warning');
  assert.match(String(item('bad.flowloop.json').description), /\d+ problems?/);
  assert.equal((item('quick.flowloop.json').iconPath as vscode.ThemeIcon).id, 'beaker');
  assert.doesNotMatch(String(item('quick.flowloop.json').description), /problem/);
});

let finishedRunDir = '';
test('running an example produces a finished run, a run folder and a tree item', async () => {
  const a = await api();
  const run = (await vscode.commands.executeCommand('flowloop.runExperiment', exampleUri(), { openView: false })) as ManagedRun;
  assert.ok(run, `${exampleUri().fsPath}: not started`);
  assert.ok(run.pid > 0);
  const done = await run.done;
  assert.equal(done.status, 'finished', `run ended ${done.status}: ${done.error ?? done.lastMessage}`);
  assert.ok(done.runDir && existsSync(done.runDir), 'run folder missing');
  finishedRunDir = done.runDir!;
  const info = readJson(join(done.runDir!, 'run.json'));
  assert.equal(info.status, 'finished');
  assert.ok(existsSync(join(done.runDir!, 'metrics.json')), 'metrics.json missing');
  const events = readFileSync(join(done.runDir!, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(events[0].type, 'run-started');
  assert.equal(events.at(-1).type, 'run-finished');
  // the tree shows it under its config (debounced refresh from the watcher / run manager)
  const item = await waitFor(
    'the finished run in the tree',
    () => {
      const exp = a.tree.getChildren().find((n) => n.type === 'experiment' && n.experiment.uri.fsPath === exampleUri().fsPath);
      return (
        exp &&
        a.tree.getChildren(exp).find((n) => n.type === 'run' && n.listing.dir === done.runDir && n.listing.info.status === 'finished')
      );
    },
    10_000,
  );
  const ti = a.tree.getTreeItem(item);
  assert.equal(ti.contextValue, 'run-finished kind-sequential');
  assert.equal((ti.iconPath as vscode.ThemeIcon).id, 'pass');
  const artifacts = a.tree.getChildren(item).map((n) => (n as Extract<TreeNode, { type: 'artifact' }>).uri.fsPath.split('/').pop());
  assert.ok(artifacts.includes('events.jsonl') && artifacts.includes('run.json'), `artifacts: ${artifacts.join(', ')}`);
  // and the CodeLens offers it (the provider command needs the document's text model: open it first):
  // provideCodeLenses gives the "Open last run" lens without a command; resolveCodeLens reads its status and metric
  await vscode.workspace.openTextDocument(exampleUri());
  await a.store.refresh();
  const unresolved = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', exampleUri())) ?? [];
  assert.ok(
    unresolved.some((l) => !l.command),
    `every lens came resolved: ${unresolved.map((l) => l.command?.title).join(' | ')}`,
  );
  const before = a.codeLens.resolved;
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', exampleUri(), 20)) ?? [];
  const last = lenses.find((l) => l.command?.title.startsWith('Open last run'));
  assert.ok(last, `no "Open last run" lens: ${lenses.map((l) => l.command?.title).join(' | ')}`);
  assert.ok(a.codeLens.resolved > before, 'resolveCodeLens not called');
  const metric = info.keyMetric ? ` · ${info.keyMetric.name} ` : '';
  assert.ok(last.command!.title.startsWith(`Open last run (finished${metric}`), last.command!.title);
  assert.equal(last.command!.command, 'flowloop.openRun');
  assert.deepEqual(last.command!.arguments, [done.runDir]);
  // the Output channel "Flowloop" (the file code-server's extension host writes for it) holds the worker's log
  const log = await waitFor(
    'the run in the Flowloop Output channel log',
    () => {
      const text = flowloopOutputLog();
      return text.includes(`run folder ${done.runDir}`) && text.includes(`finished — ${done.runDir}`) ? text : undefined;
    },
    15_000,
    250,
  );
  assert.match(log, /\[[^\]]+\] start .*example-quick\.flowloop\.json \(worker pid \d+\)/);
}, 600_000);

/** Text of the "Flowloop" Output channel as the extension host writes it to its log folder (all windows' files). */
function flowloopOutputLog(): string {
  const root = join(process.env.FLOWLOOP_TEST_USER_DATA ?? '', 'logs');
  return filesUnder(root)
    .filter((f) => f.endsWith('Flowloop.log'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

test('cancel mid-run gives `cancelled` and leaves no worker process', async () => {
  const a = await api();
  const run = await runQuick({ set: slowSet() });
  await waitFor('run-started', () => run.runDir, 60_000);
  const kids = () => descendants(run.pid);
  const stopped = (await vscode.commands.executeCommand('flowloop.stopRun', run)) as ManagedRun[];
  assert.ok(Array.isArray(stopped));
  const done = await run.done;
  assert.equal(done.status, 'cancelled', `ended ${done.status}: ${done.error ?? ''}`);
  const info = await waitFor(
    'run.json says cancelled',
    () => {
      const i = readJson(join(run.runDir!, 'run.json'));
      return i.status === 'cancelled' && i;
    },
    5_000,
  );
  assert.equal(info.status, 'cancelled');
  await waitFor('the worker to be gone', () => !isAlive(run.pid), 5_000);
  assert.deepEqual(kids(), [], 'worker left child processes');
  assert.throws(() => process.kill(-run.pid, 0), "the worker's process group still has members");
  assert.equal(a.runs.active().length, 0);
}, 120_000);

test('a worker that dies is shown as failed with its last message', async () => {
  const a = await api();
  const run = await runQuick({ set: slowSet() });
  await waitFor('run-started', () => run.runDir, 60_000);
  process.kill(run.pid, 'SIGKILL');
  const done = await run.done;
  assert.equal(done.status, 'failed');
  assert.match(done.error ?? '', /worker exited unexpectedly \(signal SIGKILL\)/);
  assert.equal(readJson(join(run.runDir!, 'run.json')).status, 'failed', 'run.json not corrected');
  await a.store.refresh();
  const listing = a.store.lastRun(quickUri().fsPath);
  assert.equal(listing?.dir, run.runDir);
  assert.equal(listing?.info.status, 'failed');
}, 120_000);

test('the API key reaches only the worker environment, never a file', async () => {
  await api();
  const key = `flowloop-test-key-${Math.random().toString(36).slice(2)}${Date.now()}`;
  await vscode.commands.executeCommand('flowloop.setApiKey', key);
  const run = await runQuick();
  const environ = await workerEnviron(run.pid);
  assert.ok(environ.includes(`FLOWLOOP_LLM_API_KEY=${key}`), 'the key is not in the worker environment');
  assert.ok(!Object.values(process.env).includes(key), 'the key leaked into the extension host environment');
  const done = await run.done;
  assert.equal(done.status, 'finished', done.error);
  const roots = [process.env.FLOWLOOP_TEST_USER_DATA, join(ws(), '.flowloop'), ws()].filter((x): x is string => !!x);
  const offenders = [...new Set(roots.flatMap((r) => filesUnder(r)))].filter((f) => readFileSync(f).includes(key));
  assert.deepEqual(offenders, [], 'files containing the API key');
  await vscode.commands.executeCommand('flowloop.clearApiKey');
}, 240_000);

test('a webview panel opens on a run and completes the ready → init handshake', async () => {
  const a = await api();
  assert.ok(finishedRunDir, 'needs the finished run of an earlier test');
  const view = existsSync(join(vscode.extensions.getExtension('flowloop.flowloop')!.extensionPath, 'dist', 'webview', 'loss.js'))
    ? 'loss'
    : 'trie';
  const command = view === 'loss' ? 'flowloop.showLossCurves' : 'flowloop.showTrieFlow';
  await vscode.commands.executeCommand(command, finishedRunDir);
  const panel = await waitFor(`${view} panel`, () => a.panels.get(view));
  await waitFor('ready from the webview and init from the host', () => panel.stats.ready >= 1 && panel.stats.inits >= 1, 30_000);
  assert.ok(panel.panel.title.includes(basename(finishedRunDir)), panel.panel.title);
  panel.panel.dispose();
}, 60_000);

test('trie, transcripts and compare views are fed from real Flower and AFL runs', async () => {
  const a = await api();
  const runFixture = async (file: string) => {
    const run = (await vscode.commands.executeCommand('flowloop.runExperiment', vscode.Uri.file(join(ws(), file)), {
      openView: false,
    })) as ManagedRun;
    assert.ok(run, `${file}: not started`);
    const done = await run.done;
    assert.equal(done.status, 'finished', `${file}: ${done.error ?? done.lastMessage}`);
    return done.runDir!;
  };
  const trieRun = await runFixture('trie.flowloop.json');
  const aflRun = await runFixture('afl.flowloop.json');
  const cases: [string, import('../../../webview/contract').ViewName, string[]][] = [
    ['flowloop.showTrieFlow', 'trie', [trieRun]],
    ['flowloop.showTranscripts', 'transcripts', [aflRun]],
    ['flowloop.compareRuns', 'compare', [trieRun, aflRun]],
  ];
  for (const [command, view, dirs] of cases) {
    await vscode.commands.executeCommand(command, dirs[0], dirs);
    const panel = await waitFor(`${view} panel`, () => {
      const p = a.panels.get(view);
      return p?.runDirs.join() === dirs.join() ? p : undefined;
    });
    await waitFor(`${view}: ready → init`, () => panel.stats.inits >= 1, 30_000);
    assert.equal(panel.stats.lastInit.runs, dirs.length, `${view}: runs in init`);
    assert.ok(panel.stats.lastInit.items > 0, `${view}: init carried nothing (${JSON.stringify(panel.stats.lastInit)})`);
    assert.deepEqual(panel.stats.errors, [], `${view} reported errors`);
    panel.panel.dispose();
  }
}, 240_000);

test('a sweep appears as a parent with its point runs, and opens in the comparison view', async () => {
  const a = await api();
  const uri = vscode.Uri.file(join(ws(), 'sweep.flowloop.json'));
  const run = (await vscode.commands.executeCommand('flowloop.runExperiment', uri, { openView: false })) as ManagedRun;
  assert.ok(run, 'sweep not started');
  const done = await run.done;
  assert.equal(done.status, 'finished', done.error ?? done.lastMessage);
  assert.ok(existsSync(join(done.runDir!, 'sweep.json')), `no sweep.json in ${done.runDir}`);
  const node = await waitFor(
    'the sweep in the tree',
    () => {
      const exp = a.tree.getChildren().find((n) => n.type === 'experiment' && n.experiment.uri.fsPath === uri.fsPath);
      return (
        exp &&
        a.tree
          .getChildren(exp)
          .find((n) => n.type === 'run' && n.listing.dir === done.runDir && n.listing.sweep && n.listing.info.status === 'finished')
      );
    },
    15_000,
  );
  assert.equal(a.tree.getTreeItem(node).contextValue, 'run-sweep');
  const children = a.tree.getChildren(node);
  const points = children.filter((c) => c.type === 'run');
  assert.equal(points.length, 2, 'point runs under the sweep');
  assert.ok(points.every((p) => p.type === 'run' && p.listing.info.status === 'finished'));
  assert.ok(
    children.some((c) => c.type === 'artifact' && c.uri.fsPath.endsWith('sweep.json')),
    'sweep.json not listed',
  );
  await vscode.commands.executeCommand('flowloop.openRun', node);
  const panel = await waitFor('compare panel on the sweep', () => {
    const p = a.panels.get('compare');
    return p?.runDirs.includes(done.runDir!) ? p : undefined;
  });
  await waitFor('ready → init', () => panel.stats.inits >= 1, 30_000);
  assert.equal(panel.stats.lastInit.runs, 2, 'the two points as compared runs');
  assert.equal(panel.stats.lastInit.items, 4, 'two points with metrics + two sweep points');
  panel.panel.dispose();
}, 240_000);

test('New Experiment from Template writes a valid config beside the workspace, without a dangling $schema, with completions', async () => {
  await api();
  const examples = readdirSync(join(vscode.extensions.getExtension('flowloop.flowloop')!.extensionPath, 'examples')).filter((f) =>
    f.endsWith('.flowloop.json'),
  );
  const template = examples.includes('quick.flowloop.json') ? 'quick.flowloop.json' : examples[0];
  assert.ok(template, 'no examples/*.flowloop.json to start from');
  const uri = (await vscode.commands.executeCommand('flowloop.newFromTemplate', template, 'from-template')) as vscode.Uri | undefined;
  assert.ok(uri && existsSync(uri.fsPath), 'no file written');
  const text = readFileSync(uri.fsPath, 'utf8');
  const { validateConfigText } = await import('../../../core/experiment/validate');
  const r = validateConfigText(text, uri.fsPath);
  assert.deepEqual(
    r.errors.map((e) => `${e.path}: ${e.message}`),
    [],
  );
  // the template's "../dist/flowloop.schema.json" means nothing here and would shadow contributes.jsonValidation
  assert.equal(JSON.parse(text).$schema, undefined, 'the copy keeps a $schema');
  // the schema still reaches the copy: hover on "kind" documents it, completion offers the kind's fields
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  const kindAt = doc.positionAt(text.indexOf('"kind"') + 2);
  const hover = await waitFor(
    'schema hover on "kind"',
    async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, kindAt);
      const md = (h ?? [])
        .flatMap((x) => x.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value)))
        .join('\n');
      return md.trim() ? md : undefined;
    },
    30_000,
    500,
  );
  assert.match(hover, /What the experiment runs/);
  const schemaText = readFileSync(
    join(vscode.extensions.getExtension('flowloop.flowloop')!.extensionPath, 'dist', 'flowloop.schema.json'),
    'utf8',
  );
  const editor = vscode.window.activeTextEditor!;
  const open = doc.positionAt(text.indexOf('{') + 1);
  await editor.edit((e) => e.insert(open, '\n  '));
  const labels = await completionsWhen(
    'schema completions in the new file',
    uri,
    new vscode.Position(open.line + 1, 2),
    (l) => l.filter((x) => x !== '$schema' && schemaText.includes(`"${x}": {`)).length >= 2,
  );
  assert.ok(!labels.includes('kind'), `completion offers a key the file has: ${labels.join(', ')}`);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, 90_000);

test('templates say what research data they need; an absent embedded copy becomes a located shared/data diagnostic', async () => {
  const a = await api();
  const extPath = vscode.extensions.getExtension('flowloop.flowloop')!.extensionPath;
  const { listTemplates, needsLine, retarget } = await import('../../../extension/templates');
  const templates = listTemplates(extPath);
  const demo = templates.find((t) => t.name === 'rq1/demo');
  assert.ok(demo, `no rq1/demo template: ${templates.map((t) => t.name).join(', ')}`);
  assert.deepEqual(
    demo.needs.map((n) => n.shared),
    ['movies_rq1/select_100_Movies.json'],
  );
  assert.match(needsLine(demo, ws()) ?? '', /shared\/data\/\{movies_rq1\}.*research-only/);
  const quick = templates.find((t) => t.name === 'quick');
  if (quick) assert.match(needsLine(quick, ws()) ?? '', /lastfm/);
  // the picker's citations name the section (docs/methods.md's heading, through dist/methods-sections.json)
  const cited = templates.filter((t) => /docs\/methods\.md §/.test(t.description ?? ''));
  assert.ok(cited.length > 0, 'no template description cites docs/methods.md');
  for (const t of cited) assert.match(t.description!, /docs\/methods\.md §[A-Z]\d*[a-z]? “[^”]+”/, `${t.name}: ${t.description}`);
  // as installed from the VSIX: the embedded copy is not there, and no shared/data beside or above this workspace
  const copy = retarget(readJson(demo.file), '/nonexistent/examples/rq1', ws(), '/nonexistent/examples', null) as Record<string, unknown>;
  assert.equal(copy.titles, '../shared/data/movies_rq1/select_100_Movies.json');
  const uri = vscode.Uri.file(join(ws(), 'rq1-absent.flowloop.json'));
  const text = JSON.stringify(copy, null, 2) + '\n';
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  const diag = await waitFor('diagnostic on /titles', () => a.diagnostics.validateNow(doc).find((d) => d.code === '/titles'), 15_000);
  const at = text.indexOf('"../shared/data/movies_rq1');
  assert.equal(doc.offsetAt(diag.range.start), at);
  assert.match(diag.message, /not found.*Flowloop does not ship/);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.fs.delete(uri);
});

test('the setting flowloop.llm.baseUrl reaches the worker: an AFL run with LLM agents talks to that server', async () => {
  await api();
  const { startServer, agentOf, promptText, recReply, userReply } = await import('../../../harness/llmServer');
  // a scripted OpenAI-compatible server (real HTTP, the chat-completions protocol the SDK speaks)
  const script = (req: import('../../../harness/llmServer').ChatRequest) => {
    const t = promptText(req);
    if (agentOf(req) === 'rec') {
      const first = /candidate list of \d+ [a-z ]+ is: (.*)\.\n|Given the following \d+ [a-z ]+: (.*), you should/.exec(t);
      return { content: recReply((first?.[1] ?? first?.[2] ?? '').split(', ')[0]) };
    }
    return { content: userReply(false) };
  };
  const viaSetting = await startServer(script);
  const viaConfig = await startServer(script);
  const cfg = vscode.workspace.getConfiguration('flowloop');
  await cfg.update('llm.baseUrl', viaSetting.url, vscode.ConfigurationTarget.Global);
  try {
    const uri = vscode.Uri.file(join(ws(), 'afl.flowloop.json'));
    const set = ['agents=llm', 'users.sample=2', 'maxRounds=2', 'llm.cache=false', 'llm.concurrency=2'];
    const run = (await vscode.commands.executeCommand('flowloop.runExperiment', uri, { openView: false, set })) as ManagedRun;
    assert.ok(run, 'not started');
    const environ = await workerEnviron(run.pid);
    assert.ok(environ.includes(`OPENAI_BASE_URL=${viaSetting.url}`), 'OPENAI_BASE_URL not in the worker environment');
    const done = await run.done;
    assert.equal(done.status, 'finished', done.error ?? done.lastMessage);
    assert.ok(viaSetting.calls > 0, 'the server named by the setting got no request');
    assert.match(viaSetting.requests[0].messages.map((m) => m.content).join(''), /\w/);
    // precedence: a config's own llm.baseURL wins over the setting
    const before = viaSetting.calls;
    const run2 = (await vscode.commands.executeCommand('flowloop.runExperiment', uri, {
      openView: false,
      set: [...set, `llm.baseURL=${viaConfig.url}`],
    })) as ManagedRun;
    const done2 = await run2.done;
    assert.equal(done2.status, 'finished', done2.error ?? done2.lastMessage);
    assert.ok(viaConfig.calls > 0, "the config's llm.baseURL was not used");
    assert.equal(viaSetting.calls, before, "the setting overrode the config's llm.baseURL");
  } finally {
    await cfg.update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await viaSetting.close();
    await viaConfig.close();
  }
}, 300_000);

test('Run Baselines runs each baseline of the kind as its own finished run', async () => {
  await api();
  const { BASELINES } = await import('../../../extension/baselines');
  const kind = readJson(quickUri().fsPath).kind as string;
  const names = BASELINES[kind].map((b) => b.name);
  const runs = (await vscode.commands.executeCommand('flowloop.runBaselines', quickUri(), names)) as ManagedRun[];
  assert.deepEqual(
    runs.map((r) => r.label),
    names.map((n) => `${readJson(quickUri().fsPath).name} · baseline ${n}`),
  );
  for (const r of runs) assert.equal(r.status, 'finished', `${r.label}: ${r.error ?? r.lastMessage}`);
  // the override really reached the run: its resolved config.json holds each --set value
  const { getPath, parseSetValue } = await import('../../../core/experiment/overrides');
  for (const [i, r] of runs.entries()) {
    const resolved = readJson(join(r.runDir!, 'config.json'));
    for (const kv of BASELINES[kind][i].set) {
      const eq = kv.indexOf('=');
      assert.deepEqual(getPath(resolved, kv.slice(0, eq)), parseSetValue(kv.slice(eq + 1)), `${r.label}: ${kv}`);
    }
  }
}, 300_000);

test("Run Baselines starts flower from the same seed's sft run (init = that run folder), as `flowloop baselines` does; flower alone is refused", async () => {
  await api();
  // the trie fixture as one objective with checkpoints (init reads the sft run's checkpoint), a few hundred samples
  const cfg = readJson(join(ws(), 'trie.flowloop.json'));
  delete cfg.compare;
  Object.assign(cfg, { name: 'baselines-init', checkpoints: true, distribution: { samples: 300 } });
  const uri = vscode.Uri.file(join(ws(), 'baselines-init.flowloop.json'));
  await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(cfg, null, 2) + '\n'));
  const refused = (await vscode.commands.executeCommand('flowloop.runBaselines', uri, ['flower'])) as ManagedRun[];
  assert.deepEqual(refused, [], 'flower without its sft run is not run');
  const runs = (await vscode.commands.executeCommand('flowloop.runBaselines', uri, ['sft', 'flower'])) as ManagedRun[];
  assert.deepEqual(
    runs.map((r) => `${r.label.replace(/^.* · /, '')}: ${r.status}`),
    ['baseline sft: finished', 'baseline flower: finished'],
    runs.map((r) => r.error ?? r.lastMessage).join('; '),
  );
  const [sft, flower] = runs;
  const flowerConfig = readJson(join(flower.runDir!, 'config.json'));
  assert.equal(flowerConfig.init, sft.runDir, "the flower run's config names the sft run folder as init");
  assert.equal(flowerConfig.name, 'baselines-init-flower', 'the run is named as the CLI names it');
  const log = readFileSync(join(flower.runDir!, 'events.jsonl'), 'utf8');
  assert.ok(log.includes(`initialised from ${sft.runDir}`), 'the flower run started from the sft weights');
  await vscode.workspace.fs.delete(uri);
}, 600_000);

test("every kind's baseline overrides are valid on the shipped examples of that kind", async () => {
  const { BASELINES } = await import('../../../extension/baselines');
  const { validateConfigObject, formatIssue } = await import('../../../core/experiment/validate');
  const { applySets } = await import('../../../core/experiment/overrides');
  const dir = join(vscode.extensions.getExtension('flowloop.flowloop')!.extensionPath, 'examples');
  const checked: string[] = [];
  const problems: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.flowloop.json'))) {
    const config = readJson(join(dir, f));
    if (config.sweep) continue;
    // only what the overrides add counts (an example's own problems, e.g. data not beside this checkout, are not the baselines')
    const own = new Set(
      validateConfigObject(config, join(dir, f), 'x').errors.map((e) => `${e.path}|${e.message.replace(/ \(from x\)$/, '')}`),
    );
    for (const b of BASELINES[config.kind] ?? []) {
      const r = validateConfigObject(applySets(config, b.set), join(dir, f), `baseline ${b.name}`);
      checked.push(`${f}:${b.name}`);
      problems.push(
        ...r.errors
          .filter((e) => !own.has(`${e.path}|${e.message.replace(/ \(from baseline [^)]*\)$/, '')}`))
          .map((e) => formatIssue(f, e)),
      );
    }
  }
  assert.ok(checked.length > 0, 'no example had baselines to check');
  assert.deepEqual(problems, []);
});

test('a view follows a live run with increments, and closing it does not stop the run', async () => {
  const a = await api();
  const run = await runQuick({ set: slowSet() });
  await waitFor('run-started', () => run.runDir, 60_000);
  await vscode.commands.executeCommand('flowloop.showLossCurves', run.runDir);
  const panel = await waitFor('loss panel on the live run', () => {
    const p = a.panels.get('loss');
    return p?.runDirs.includes(run.runDir!) ? p : undefined;
  });
  await waitFor('ready + init', () => panel.stats.inits >= 1, 30_000);
  await waitFor('incremental events relayed to the view', () => panel.stats.eventsSent > 0, 60_000);
  panel.panel.dispose();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(run.status, 'running', 'closing the view changed the run');
  assert.ok(isAlive(run.pid));
  // window close (deactivate → stopAll) stops every worker and its tree
  const t0 = Date.now();
  await a.runs.stopAll();
  await run.done;
  // VS Code gives deactivate about 5 s; on a loaded machine the bound stretches with the load (harness/load.ts)
  const bound = scaledMs(5000);
  assert.ok(Date.now() - t0 < bound, `stopAll took ${Date.now() - t0} ms (bound ${bound} ms, ${describeLoad()})`);
  assert.equal(run.status, 'cancelled');
  assert.equal(isAlive(run.pid), false);
}, 180_000);

test("a second live run opens its own Loss Curves panel: the first run's live panel keeps its run", async () => {
  const a = await api();
  const first = await runQuick({ set: slowSet() });
  await waitFor('first run-started', () => first.runDir, 60_000);
  await vscode.commands.executeCommand('flowloop.showLossCurves', first.runDir);
  const p1 = await waitFor('loss panel on the first run', () => a.panels.all('loss').find((p) => p.runDirs.includes(first.runDir!)));
  const second = await runQuick({ set: slowSet() });
  await waitFor('second run-started', () => second.runDir, 60_000);
  await vscode.commands.executeCommand('flowloop.showLossCurves', second.runDir);
  const p2 = await waitFor('loss panel on the second run', () => a.panels.all('loss').find((p) => p.runDirs.includes(second.runDir!)));
  assert.notEqual(p1, p2, "the second run took over the first run's panel");
  assert.deepEqual(p1.runDirs, [first.runDir], 'the first panel still shows the first run');
  await waitFor("the first panel still relays its run's events", () => p1.stats.eventsSent > 0, 60_000);
  await a.runs.stopAll();
  await Promise.all([first.done, second.done]);
  for (const p of a.panels.all('loss')) p.panel.dispose();
}, 240_000);

test("Open Run opens the run page (status, metrics, artifacts); Show Runs Table lists the workspace's runs", async () => {
  const a = await api();
  const run = await runQuick();
  await run.done;
  assert.equal(run.status, 'finished');
  await vscode.commands.executeCommand('flowloop.openRun', run.runDir);
  const page = await waitFor('run page', () => {
    const p = a.panels.get('run');
    return p?.runDirs.includes(run.runDir!) ? p : undefined;
  });
  await waitFor('run page init', () => page.stats.inits >= 1, 30_000);
  assert.equal(page.stats.lastInit.runs, 1);
  assert.ok(page.stats.lastInit.items >= 3, `artifacts listed: ${page.stats.lastInit.items}`);
  await vscode.commands.executeCommand('flowloop.showRunsTable');
  const table = await waitFor('runs table', () => a.panels.get('runs'));
  await waitFor('runs table init', () => table.stats.inits >= 1, 30_000);
  assert.ok(table.runDirs.includes(run.runDir!), 'the finished run is in the table');
  assert.ok(table.stats.lastInit.runs >= 1);
  assert.deepEqual(table.stats.errors, []);
  page.panel.dispose();
  table.panel.dispose();
}, 180_000);

test('Reveal Run Folder reveals a tree run; Compare Runs opens the comparison view on several selected runs', async () => {
  const a = await api();
  await a.store.refresh();
  const exp = a.tree.getChildren().find((n) => n.type === 'experiment' && n.experiment.uri.fsPath === quickUri().fsPath)!;
  const finished = a.tree
    .getChildren(exp)
    .filter((n) => n.type === 'run' && n.listing.info.status === 'finished')
    .slice(0, 2);
  assert.equal(finished.length, 2, 'needs two finished runs from earlier tests');
  assert.equal(
    await vscode.commands.executeCommand('flowloop.revealRunFolder', finished[0]),
    (finished[0] as Extract<TreeNode, { type: 'run' }>).listing.dir,
  );
  await vscode.commands.executeCommand('flowloop.compareRuns', finished[0], finished);
  const panel = await waitFor('compare panel', () => a.panels.get('compare'));
  assert.equal(panel.runDirs.length, 2);
  await waitFor('ready → init', () => panel.stats.inits >= 1, 30_000);
  panel.panel.dispose();
});

test('tree refreshes are debounced: a burst of 20 triggers → one scan', async () => {
  const a = await api();
  await a.store.refresh();
  const before = a.store.scans;
  for (let i = 0; i < 20; i++) a.store.schedule();
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(a.store.scans - before, 1);
});

/** Per kind: `--set` overrides that make the quick example long enough to cancel or kill mid-run. */
const SLOW_BY_KIND: Record<string, string[]> = {
  sequential: ['epochs=50', 'maxTrainRows=20000', 'patience=0'],
  flower: ['epochs=200', 'patience=0', 'maxTrainRows=0', 'stepsPerEpoch=0'],
  afl: ['users.sample=all', 'maxRounds=10'],
};
function slowSet(): string[] {
  if (process.env.FLOWLOOP_TEST_SLOW_SET) return process.env.FLOWLOOP_TEST_SLOW_SET.split(' ').filter(Boolean);
  return SLOW_BY_KIND[readJson(quickUri().fsPath).kind] ?? [];
}
