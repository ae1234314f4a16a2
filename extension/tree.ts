import * as vscode from 'vscode';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunListing } from '../core/experiment/runStore';
import type { RunStatus } from '../core/experiment/events';
import { listRunsSafe, type Experiment, type ExperimentStore } from './store';
import type { RunManager } from './runManager';

/** Sidebar nodes: experiment (config) → run (or sweep → point runs) → artifact (file/folder in the run). */
export type TreeNode =
  | { type: 'experiment'; experiment: Experiment }
  | { type: 'other'; runs: RunListing[] }
  | { type: 'run'; listing: RunListing }
  | { type: 'artifact'; uri: vscode.Uri; isDir: boolean };

const STATUS_ICON: Record<RunStatus, [string, string | undefined]> = {
  running: ['sync~spin', 'charts.blue'],
  finished: ['pass', 'testing.iconPassed'],
  degraded: ['warning', 'problemsWarningIcon.foreground'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
};

/** "18:01:02" today, "Nov 24 18:01" before. */
export function shortTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString('en-GB', { hour12: false })
    : `${d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false })}`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatMetric(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

/** The experiments tree (view `flowloop.experiments`), driven by the debounced ExperimentStore. */
export class ExperimentTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly store: ExperimentStore,
    private readonly runs: RunManager,
  ) {
    this.sub = store.onDidChange(() => this.emitter.fire(undefined));
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      const top: TreeNode[] = this.store.experiments().map((experiment) => ({ type: 'experiment', experiment }));
      const other = this.store.otherRuns();
      if (other.length) top.push({ type: 'other', runs: other });
      return top;
    }
    switch (node.type) {
      case 'experiment':
        return node.experiment.runs.map((listing) => ({ type: 'run', listing }));
      case 'other':
        return node.runs.map((listing) => ({ type: 'run', listing }));
      case 'run':
        if (node.listing.sweep) {
          // a sweep: its points (each a run folder), then its own files (sweep.json, results table, plots)
          const points = listRunsSafe(node.listing.dir);
          const pointDirs = new Set(points.map((p) => p.dir));
          return [
            ...points.map((listing): TreeNode => ({ type: 'run', listing })),
            ...artifactsOf(node.listing.dir).filter((a) => a.type !== 'artifact' || !pointDirs.has(a.uri.fsPath)),
          ];
        }
        return artifactsOf(node.listing.dir);
      case 'artifact':
        return node.isDir ? artifactsOf(node.uri.fsPath) : [];
    }
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'experiment': {
        const e = node.experiment;
        const item = new vscode.TreeItem(
          basename(e.uri.fsPath),
          e.runs.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `exp:${e.uri.fsPath}`;
        item.resourceUri = e.uri;
        const running = this.runs.isRunning(e.uri.fsPath);
        const problems = e.problems ? `${e.problems} problem${e.problems === 1 ? '' : 's'}` : '';
        item.description = [
          e.kind ?? 'not a valid config',
          problems,
          running ? 'running' : `${e.runs.length} run${e.runs.length === 1 ? '' : 's'}`,
        ]
          .filter(Boolean)
          .join(' · ');
        const md = new vscode.MarkdownString();
        md.appendMarkdown(`**${e.name ?? basename(e.uri.fsPath)}** (${e.kind ?? '?'})\n\n${e.description ?? ''}\n\n`);
        if (e.firstProblem) md.appendMarkdown('**Problem:** ').appendText(e.firstProblem).appendMarkdown('\n\n');
        md.appendMarkdown(`\`${vscode.workspace.asRelativePath(e.uri)}\``);
        item.tooltip = md;
        item.iconPath = running
          ? new vscode.ThemeIcon('sync~spin')
          : e.problems
            ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
            : new vscode.ThemeIcon('beaker');
        item.contextValue = 'experiment';
        item.command = { command: 'vscode.open', title: 'Open Config', arguments: [e.uri] };
        return item;
      }
      case 'other': {
        const item = new vscode.TreeItem('Other runs', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = 'other-runs';
        item.description = `${node.runs.length} (config not in this workspace)`;
        item.iconPath = new vscode.ThemeIcon('history');
        return item;
      }
      case 'run': {
        const { info, dir, sweep } = node.listing;
        const item = new vscode.TreeItem(shortTime(info.startedAt), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `run:${dir}`;
        const [icon, color] = STATUS_ICON[info.status] ?? ['question', undefined];
        item.iconPath = new vscode.ThemeIcon(sweep ? 'layers' : icon, color ? new vscode.ThemeColor(color) : undefined);
        const metric = info.keyMetric ? `${info.keyMetric.name} ${formatMetric(info.keyMetric.value)}` : '';
        const status =
          info.status === 'finished'
            ? metric
            : info.status === 'degraded'
              ? `degraded: ${info.degraded?.[0] ?? 'see the run'}`
              : info.status;
        // a Slurm run still running says what Slurm says (pending and why, running on which node)
        const slurm =
          info.slurm && info.status === 'running'
            ? `slurm ${info.slurm.state.toLowerCase()}${info.slurm.reason ? ` (${info.slurm.reason})` : ''}`
            : '';
        item.description = [sweep ? 'sweep' : '', slurm || status, formatDuration(info.durationMs)].filter(Boolean).join(' · ');
        const md = new vscode.MarkdownString();
        md.appendMarkdown(`**${info.name}** — ${info.status}\n\n`);
        for (const r of info.degraded ?? []) md.appendMarkdown(`$(warning) **degraded**: ${r}\n\n`);
        md.supportThemeIcons = true;
        md.appendMarkdown(`- folder: \`${basename(dir)}\`\n- started: ${info.startedAt}\n`);
        if (info.durationMs !== undefined) md.appendMarkdown(`- duration: ${formatDuration(info.durationMs)}\n`);
        if (info.keyMetric) md.appendMarkdown(`- ${info.keyMetric.name}: ${info.keyMetric.value}\n`);
        md.appendMarkdown(`- seed: ${info.seed}\n`);
        if (info.slurm)
          md.appendMarkdown(
            `- slurm job ${info.slurm.jobId}: ${info.slurm.state}${info.slurm.reason ? ` (${info.slurm.reason})` : ''}${info.slurm.node ? ` on ${info.slurm.node}` : ''}, profile ${info.slurm.profile}\n`,
          );
        if (info.backend) md.appendMarkdown(`- backend: ${info.backend.name} (${info.backend.reason})\n`);
        // a cancelled run's `error` is the reason it was stopped, not an error
        if (info.error)
          md.appendMarkdown(
            `\n**${info.status === 'cancelled' ? 'cancelled' : 'error'}**${info.where ? ` at \`${info.where}\`` : ''}: ${info.error}\n`,
          );
        item.tooltip = md;
        // status and kind: the menus offer only the views that apply (trie: flower, transcripts: afl)
        item.contextValue = sweep ? 'run-sweep' : `run-${info.status} kind-${info.kind}`;
        item.resourceUri = vscode.Uri.file(dir);
        item.command = { command: 'flowloop.openRun', title: 'Open Run', arguments: [node] };
        return item;
      }
      case 'artifact': {
        const item = new vscode.TreeItem(
          node.uri,
          node.isDir ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `art:${node.uri.fsPath}`;
        item.contextValue = node.isDir ? 'artifact-dir' : 'artifact';
        if (!node.isDir) item.command = { command: 'vscode.open', title: 'Open', arguments: [node.uri] };
        return item;
      }
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

/** Files and folders of a run folder (temp files of atomic writes hidden), folders first. */
function artifactsOf(dir: string): TreeNode[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.includes('.tmp-'));
  } catch {
    return [];
  }
  const nodes = names.map((n) => {
    const p = join(dir, n);
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      /* vanished */
    }
    return { type: 'artifact' as const, uri: vscode.Uri.file(p), isDir };
  });
  return nodes.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.uri.fsPath.localeCompare(b.uri.fsPath));
}
