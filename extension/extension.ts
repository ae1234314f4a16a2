import * as vscode from 'vscode';
import { RunManager } from './runManager';
import { SlurmRuns } from './slurmRuns';
import { ExperimentStore } from './store';
import { ExperimentTree } from './tree';
import { ConfigCodeLensProvider } from './codeLens';
import { ConfigDiagnostics, DanglingSchemaFix } from './diagnostics';
import { PanelManager } from './panels';
import { ApiKeyStore } from './secrets';
import { registerCommands } from './commands';

/**
 * Flowloop's VS Code front door. The host stays thin: it finds configs, validates them as you
 * type, starts/stops worker processes (dist/worker.js) and relays their events to the tree, CodeLens,
 * status bar and webviews. Nothing here loads tensors, models or native modules.
 */

/** What `activate` returns (used by the integration tests through `extension.exports`). */
export interface FlowloopApi {
  runs: RunManager;
  store: ExperimentStore;
  tree: ExperimentTree;
  codeLens: ConfigCodeLensProvider;
  diagnostics: ConfigDiagnostics;
  panels: PanelManager;
  output: vscode.OutputChannel;
  /** Runs on Slurm (the executor setting, the picker, reattaching to jobs of an earlier window). */
  slurm?: SlurmRuns;
}

let manager: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): FlowloopApi {
  const output = vscode.window.createOutputChannel('Flowloop');
  const keys = new ApiKeyStore(context.secrets);
  // FLOWLOOP_WORKER: another worker bundle (development of the runner); default the packaged dist/worker.js
  const runs = new RunManager(process.env.FLOWLOOP_WORKER || context.asAbsolutePath('dist/worker.js'), output, () => keys.get());
  manager = runs;
  const store = new ExperimentStore(runs);
  const tree = new ExperimentTree(store, runs);
  const view = vscode.window.createTreeView('flowloop.experiments', { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  const codeLens = new ConfigCodeLensProvider(store, runs);
  const diagnostics = new ConfigDiagnostics();
  const panels = new PanelManager(context, runs, output);
  context.subscriptions.push(
    output,
    runs,
    store,
    tree,
    view,
    codeLens,
    diagnostics,
    panels,
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.flowloop.json' }, codeLens),
    vscode.languages.registerCodeActionsProvider({ pattern: '**/*.flowloop.json' }, new DanglingSchemaFix(), {
      providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => store.schedule()),
    // the runs table lists every run of the workspace: new and removed runs reach it with the store's rescan
    store.onDidChange(() => {
      const t = panels.get('runs');
      if (t) t.setRuns(store.allRuns().map((l) => l.dir));
    }),
    ...registerCommands({ context, runs, store, panels, keys, output }),
  );
  const slurm = new SlurmRuns(runs);
  context.subscriptions.push(
    slurm,
    vscode.commands.registerCommand('flowloop.pickExecutor', () => slurm.pick()),
  );
  // jobs submitted from an earlier window go on without it: follow them again (never in an untrusted workspace)
  if (vscode.workspace.isTrusted) slurm.reattach((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
  void store.refresh();
  return { runs, store, tree, codeLens, diagnostics, panels, output, slurm };
}

/** Window close / reload: stop every worker and its process tree before the host goes away. */
export function deactivate(): Promise<void> | undefined {
  return manager?.stopAll();
}
