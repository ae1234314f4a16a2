import * as vscode from 'vscode';
import { parseTree, findNodeAtLocation } from 'jsonc-parser';
import type { ExperimentStore } from './store';
import type { RunManager } from './runManager';

/**
 * CodeLens on each `*.flowloop.json` (issue 7 item 4): `▶ Run` · `Run baselines` · `Open last run`,
 * and `■ Stop` while a run of that config is active. Placed on the `"kind"` line (the top if absent).
 * `onDidChangeCodeLenses` fires when runs start/end and when the run list changes.
 */
export class ConfigCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly store: ExperimentStore, private readonly runs: RunManager) {
    this.subs = [
      runs.onDidChangeRuns(() => this.emitter.fire()),
      store.onDidChange(() => this.emitter.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.emitter.fire()),
    ];
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!doc.fileName.endsWith('.flowloop.json')) return [];
    const range = lensRange(doc);
    const uri = doc.uri;
    const lenses: vscode.CodeLens[] = [];
    if (this.runs.isRunning(uri.fsPath)) {
      lenses.push(new vscode.CodeLens(range, { title: '■ Stop', tooltip: 'Stop the running experiment', command: 'flowloop.stopRun', arguments: [uri] }));
      const active = this.runs.active().find((r) => r.configPath === uri.fsPath);
      if (active?.progress) {
        const p = active.progress;
        lenses.push(new vscode.CodeLens(range, { title: `${p.phase} ${p.done}/${p.total}`, command: 'flowloop.showLog' }));
      }
    } else if (!vscode.workspace.isTrusted) {
      lenses.push(new vscode.CodeLens(range, { title: '▶ Run (trust this workspace first)', tooltip: 'Runs execute code and read the files a config names: Flowloop runs only in trusted workspaces', command: 'workbench.trust.manage' }));
    } else {
      lenses.push(new vscode.CodeLens(range, { title: '▶ Run', tooltip: 'Run this experiment in a worker process', command: 'flowloop.runExperiment', arguments: [uri] }));
      lenses.push(new vscode.CodeLens(range, { title: 'Run baselines', tooltip: 'Run the baselines of this kind of experiment', command: 'flowloop.runBaselines', arguments: [uri] }));
    }
    const last = this.store.lastRun(uri.fsPath);
    if (last) {
      lenses.push(new vscode.CodeLens(range, { title: `Open last run (${last.info.status})`, tooltip: last.dir, command: 'flowloop.openRun', arguments: [last.dir] }));
    }
    return lenses;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.emitter.dispose();
  }
}

/** The line of the top-level "kind" property, else line 0. */
function lensRange(doc: vscode.TextDocument): vscode.Range {
  try {
    const root = parseTree(doc.getText());
    const kind = root && findNodeAtLocation(root, ['kind']);
    if (kind?.parent) {
      const pos = doc.positionAt(kind.parent.offset);
      return new vscode.Range(pos.line, 0, pos.line, 0);
    }
  } catch { /* unparsable text: top of file */ }
  return new vscode.Range(0, 0, 0, 0);
}
