import * as vscode from 'vscode';
import { parseTree, findNodeAtLocation } from 'jsonc-parser';
import { readRunInfo, withLiveness } from '../core/experiment/runStore';
import { hasResults, type RunInfo } from '../core/experiment/events';
import type { ExperimentStore } from './store';
import type { RunManager } from './runManager';
import { progressText } from './runWording';
import { formatDuration, formatMetric } from './tree';

/**
 * CodeLens on each `*.flowloop.json`: `▶ Run` · `Run baselines` · `Open last run`,
 * and `■ Stop` while a run of that config is active. Placed on the `"kind"` line (the top if absent).
 * `provideCodeLenses` is cheap (in-memory state only): the run/stop/baselines lenses carry their static
 * commands, and the "Open last run" lens only its range and run folder. `resolveCodeLens` — called by
 * the editor for the lenses in view — reads that run's run.json from disk for its current status and
 * key metric ("Open last run (finished · HR@20 0.412 · 12s)").
 * `onDidChangeCodeLenses` fires when runs start/end and when the run list changes.
 */
export class ConfigCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;
  private readonly subs: vscode.Disposable[];
  /** Lenses resolved so far (tests check that the last-run title is resolved lazily). */
  resolved = 0;
  /**
   * The "Open last run" lenses handed out (a map, not a CodeLens subclass: the bundle must load where
   * `vscode` is a stub, and the editor passes the same objects back to resolveCodeLens).
   */
  private readonly lastRun = new WeakMap<vscode.CodeLens, { runDir: string; listed: RunInfo }>();

  constructor(
    private readonly store: ExperimentStore,
    private readonly runs: RunManager,
  ) {
    this.subs = [
      runs.onDidChangeRuns(() => this.emitter.fire()),
      runs.onDidProgress(() => this.emitter.fire()), // the progress lens follows the status bar
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
      lenses.push(
        new vscode.CodeLens(range, {
          title: '■ Stop',
          tooltip: 'Stop the running experiment',
          command: 'flowloop.stopRun',
          arguments: [uri],
        }),
      );
      const active = this.runs.active().find((r) => r.configPath === uri.fsPath);
      if (active?.progress) {
        const p = active.progress;
        lenses.push(
          new vscode.CodeLens(range, {
            title: progressText(p),
            tooltip: 'the same progress as the status bar; click for the worker log',
            command: 'flowloop.showLog',
          }),
        );
      }
    } else if (!vscode.workspace.isTrusted) {
      lenses.push(
        new vscode.CodeLens(range, {
          title: '▶ Run (trust this workspace first)',
          tooltip: 'Runs execute code and read the files a config names: Flowloop runs only in trusted workspaces',
          command: 'workbench.trust.manage',
        }),
      );
    } else {
      lenses.push(
        new vscode.CodeLens(range, {
          title: '▶ Run',
          tooltip: 'Run this experiment in a worker process',
          command: 'flowloop.runExperiment',
          arguments: [uri],
        }),
      );
      lenses.push(
        new vscode.CodeLens(range, {
          title: 'Run baselines',
          tooltip: 'Run the baselines of this kind of experiment',
          command: 'flowloop.runBaselines',
          arguments: [uri],
        }),
      );
    }
    if (vscode.workspace.isTrusted && /"kind"\s*:\s*"afl"/.test(doc.getText())) {
      lenses.push(
        new vscode.CodeLens(range, {
          title: 'Preview prompts',
          tooltip: "A user's first-round AFL prompts, rendered with no LLM call",
          command: 'flowloop.previewAflPrompts',
          arguments: [uri],
        }),
      );
    }
    const last = this.store.lastRun(uri.fsPath);
    if (last) {
      // range and run folder only: the title (status, key metric) comes from resolveCodeLens
      const lens = new vscode.CodeLens(range);
      this.lastRun.set(lens, { runDir: last.dir, listed: last.info });
      lenses.push(lens);
    }
    return lenses;
  }

  resolveCodeLens(lens: vscode.CodeLens): vscode.CodeLens {
    const last = this.lastRun.get(lens);
    if (!last || lens.command) return lens;
    this.resolved++;
    // run.json as it is now (a sweep folder has none: what the listing read stands)
    const read = readRunInfo(last.runDir);
    const info = read ? withLiveness(read) : last.listed;
    const metric = hasResults(info.status) && info.keyMetric ? `${info.keyMetric.name} ${formatMetric(info.keyMetric.value)}` : '';
    const parts = [info.status === 'degraded' ? '⚠ degraded' : info.status, metric, formatDuration(info.durationMs)].filter(Boolean);
    lens.command = {
      title: `Open last run (${parts.join(' · ')})`,
      tooltip: `${last.runDir}${(info.degraded ?? []).map((r) => `\ndegraded: ${r}`).join('')}${info.error ? `\n${info.error}` : ''}`,
      command: 'flowloop.openRun',
      arguments: [last.runDir],
    };
    return lens;
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
  } catch {
    /* unparsable text: top of file */
  }
  return new vscode.Range(0, 0, 0, 0);
}
