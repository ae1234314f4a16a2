import * as vscode from 'vscode';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { RunEvent } from '../core/experiment/events';
import {
  isWebviewToHost,
  makeNonce,
  packTrieSnapshot,
  renderHtml,
  VIEW_NAMES,
  VIEW_TITLES,
  PROTOCOL_VERSION,
  type HostToWebview,
  type PackedTrieSnapshot,
  type ViewName,
  type ViewState,
} from '../webview/contract';
import { EventTail } from '../core/experiment/eventTail';
import { readRunInfo, withLiveness } from '../core/experiment/runStore';
import { buildViewState, VIEW_EVENTS } from './viewState';
import type { RunManager } from './runManager';

export const viewType = (view: ViewName) => `flowloop.${view}`;
const POLL_MS = 1000;

/**
 * One open view (trie / loss / transcripts / compare) over some run folders. Protocol of
 * webview/contract.ts: the view posts `ready`, the host answers with one `init` built from the run
 * folders, then relays each new event of those runs as `events`. Events come from following each run's
 * events.jsonl (EventTail), pumped at once when the run manager hears an event of that run and every
 * second otherwise (runs started by the CLI or another window), so nothing is dropped or sent twice.
 */
export class FlowloopPanel implements vscode.Disposable {
  private tails = new Map<string, EventTail>();
  private ready = false;
  private poll: NodeJS.Timeout | undefined;
  private sizes = new Map<string, number>();
  private readonly subs: vscode.Disposable[] = [];
  /** Counters for tests and the log. */
  readonly stats = { ready: 0, inits: 0, eventsSent: 0, messages: [] as string[], errors: [] as string[], lastInit: { runs: 0, items: 0 } };
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  /** Where a view's `open` message goes (the panel manager shows that view on those runs). */
  onOpen?: (view: ViewName, runDirs: string[]) => void;
  readonly onDidDispose = this.disposedEmitter.event;

  constructor(
    readonly view: ViewName,
    readonly panel: vscode.WebviewPanel,
    public runDirs: string[],
    private readonly extensionUri: vscode.Uri,
    private readonly output: vscode.OutputChannel,
  ) {
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.webview.html = renderHtml(view, {
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, `${view}.js`)).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, stylesheetOf(root.fsPath, view))).toString(),
      nonce: makeNonce(),
      cspSource: panel.webview.cspSource,
    });
    this.updateTitle();
    this.subs.push(
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.poll = setInterval(() => this.pumpIfGrown(), POLL_MS);
  }

  private updateTitle(): void {
    const names = this.runDirs.map((d) => basename(d));
    this.panel.title =
      VIEW_TITLES[this.view].replace(/^Flowloop: /, '') +
      (names.length === 1 ? ` — ${names[0]}` : names.length > 1 ? ` — ${names.length} runs` : '');
  }

  /** Show other runs: a fresh `init` (the view keeps its UI state). */
  setRuns(runDirs: string[]): void {
    this.runDirs = runDirs;
    this.updateTitle();
    if (this.ready) this.sendInit();
  }

  private post(msg: HostToWebview): void {
    void this.panel.webview.postMessage(msg);
  }

  private sendInit(): void {
    this.tails = new Map(this.runDirs.map((d) => [d, new EventTail(d)]));
    const read = new Map<string, RunEvent[]>();
    for (const [d, tail] of this.tails) read.set(d, tail.read());
    for (const d of this.runDirs) this.sizes.set(d, fileSize(d));
    const state = buildViewState(this.view, this.runDirs, (d) => read.get(d) ?? []);
    this.post({ type: 'init', state });
    this.stats.inits++;
    this.stats.lastInit = summarize(state);
  }

  /** Relay new events of this panel's runs (only the types the view consumes). */
  pump(): void {
    if (!this.ready) return;
    const wanted = VIEW_EVENTS[this.view];
    const batch: (RunEvent | PackedTrieSnapshot)[] = [];
    let refreshCompare = false;
    for (const [d, tail] of this.tails) {
      this.sizes.set(d, fileSize(d));
      for (const e of tail.read()) {
        if (wanted.has(e.type)) batch.push(e.type === 'trie-snapshot' ? packTrieSnapshot(e) : e);
        if (this.view === 'compare' && e.type === 'run-finished') refreshCompare = true;
        // the runs table and the run page show run.json/metrics.json: rebuilt when a run starts, degrades or ends
        if ((this.view === 'runs' || this.view === 'run') && /^run-/.test(e.type)) refreshCompare = true;
      }
      for (const bad of tail.badLines.splice(0))
        this.output.appendLine(`[panel ${this.view}] unreadable event line in ${tail.path}: ${bad}`);
    }
    if (batch.length) {
      this.post({ type: 'events', events: batch });
      this.stats.eventsSent += batch.length;
    }
    // metrics.json is final only at the end: rebuild the comparison then
    if (refreshCompare) this.sendInit();
  }

  private pumpIfGrown(): void {
    if (!this.ready) return;
    for (const d of this.runDirs) if (fileSize(d) !== this.sizes.get(d)) return this.pump();
  }

  /** Called by the manager when a worker of this window reported an event. */
  onRunEvent(runId: string): void {
    if (this.runDirs.some((d) => basename(d) === runId)) this.pump();
  }

  private async onMessage(m: unknown): Promise<void> {
    if (!isWebviewToHost(m)) {
      this.output.appendLine(`[panel ${this.view}] ignored malformed message: ${JSON.stringify(m)?.slice(0, 200)}`);
      return;
    }
    this.stats.messages.push(m.type);
    switch (m.type) {
      case 'ready':
        if (m.protocol !== PROTOCOL_VERSION)
          this.output.appendLine(`[panel ${this.view}] protocol ${m.protocol} ≠ host ${PROTOCOL_VERSION}`);
        this.ready = true;
        this.stats.ready++;
        this.sendInit();
        break;
      case 'export': {
        const base = vscode.workspace.workspaceFolders?.[0]?.uri;
        const target = await vscode.window.showSaveDialog({
          defaultUri: base ? vscode.Uri.joinPath(base, m.suggestedName) : undefined,
          filters: m.format === 'csv' ? { CSV: ['csv'] } : { Markdown: ['md'] },
        });
        if (target) {
          await vscode.workspace.fs.writeFile(target, Buffer.from(m.text, 'utf8'));
          void vscode.window.showInformationMessage(`Flowloop: saved ${vscode.workspace.asRelativePath(target)}`);
        }
        break;
      }
      case 'copy':
        await vscode.env.clipboard.writeText(m.text);
        void vscode.window.setStatusBarMessage('Flowloop: copied', 2000);
        break;
      case 'open':
        this.onOpen?.(
          m.target,
          m.runDirs.filter((d) => existsSync(d)),
        );
        break;
      case 'openFile': {
        // only files inside this panel's run folders
        const inside = this.runDirs.some((d) => m.path.startsWith(d + '/'));
        if (inside && existsSync(m.path)) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(m.path));
        break;
      }
      case 'error':
        this.stats.errors.push(`${m.message}${m.where ? ` at ${m.where}` : ''}`);
        this.output.appendLine(`[panel ${this.view}] view error${m.where ? ` at ${m.where}` : ''}: ${m.message}`);
        break;
    }
  }

  dispose(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    for (const s of this.subs.splice(0)) s.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

/** Runs and items (snapshots / metric events / turns / compared runs) in a full state, for logs and tests. */
function summarize(state: ViewState): { runs: number; items: number } {
  switch (state.view) {
    case 'trie':
      return { runs: state.run ? 1 : 0, items: state.snapshots.length };
    case 'loss':
      return { runs: state.runs.length, items: state.metrics.length };
    case 'transcripts':
      return { runs: state.runs.length, items: state.turns.length };
    case 'compare':
      return {
        runs: state.runs.length,
        items: state.runs.filter((r) => Object.keys(r.metrics).length > 0).length + (state.sweep?.points.length ?? 0),
      };
    case 'runs':
      return { runs: state.runs.length, items: state.runs.length };
    case 'run':
      return { runs: state.run ? 1 : 0, items: state.artifacts.length };
  }
}

/** dist/webview/<view>.css (esbuild's output for a CSS import), else a copied dist/webview/<view>-<name>.css. */
function stylesheetOf(dir: string, view: ViewName): string {
  if (existsSync(`${dir}/${view}.css`)) return `${view}.css`;
  try {
    return readdirSync(dir).find((f) => f.startsWith(`${view}-`) && f.endsWith('.css')) ?? `${view}.css`;
  } catch {
    return `${view}.css`;
  }
}

function fileSize(runDir: string): number {
  try {
    return statSync(`${runDir}/events.jsonl`).size;
  } catch {
    return -1;
  }
}

/**
 * Creates, reuses and restores the panels. Showing a view for other runs re-targets its newest panel,
 * unless that panel follows a run that is still running: then the new runs get a panel of their own, so a
 * second run never takes the first one's live curves away. Restored after a reload by a
 * WebviewPanelSerializer from the run folders remembered in workspaceState.
 */
export class PanelManager implements vscode.Disposable {
  /** Open panels per view, oldest first. */
  private readonly panels = new Map<ViewName, FlowloopPanel[]>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    runs: RunManager,
    private readonly output: vscode.OutputChannel,
  ) {
    for (const view of VIEW_NAMES) {
      this.subs.push(
        vscode.window.registerWebviewPanelSerializer(viewType(view), {
          deserializeWebviewPanel: async (panel) => {
            const dirs = (context.workspaceState.get<string[]>(stateKey(view)) ?? []).filter((d) => existsSync(d));
            this.adopt(view, panel, dirs);
          },
        }),
      );
    }
    this.subs.push(
      runs.onDidReceiveEvent(({ event }) => {
        for (const list of this.panels.values()) for (const p of list) p.onRunEvent(event.runId);
      }),
    );
  }

  /** The newest panel of a view. */
  get(view: ViewName): FlowloopPanel | undefined {
    return this.panels.get(view)?.at(-1);
  }

  /** Every open panel of a view, oldest first. */
  all(view: ViewName): FlowloopPanel[] {
    return [...(this.panels.get(view) ?? [])];
  }

  /** Open (or reveal and re-target) a view on run folders. */
  show(view: ViewName, runDirs: string[], opts: { preserveFocus?: boolean } = {}): FlowloopPanel | undefined {
    const bundle = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview', `${view}.js`);
    if (!existsSync(bundle.fsPath)) {
      void vscode.window.showErrorMessage(`Flowloop: the ${view} view is not built (${bundle.fsPath} missing); run \`npm run build\`.`);
      return undefined;
    }
    void this.context.workspaceState.update(stateKey(view), runDirs);
    const list = this.panels.get(view) ?? [];
    const same = list.find((p) => p.runDirs.join('\n') === runDirs.join('\n'));
    // a table of many runs (runs, compare) is always re-targeted; a view that follows a live run is kept
    const reusable = same ?? [...list].reverse().find((p) => view === 'runs' || view === 'compare' || !p.runDirs.some(isLive));
    if (reusable) {
      if (reusable !== same) reusable.setRuns(runDirs);
      reusable.panel.reveal(undefined, opts.preserveFocus);
      return reusable;
    }
    const panel = vscode.window.createWebviewPanel(
      viewType(view),
      VIEW_TITLES[view],
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: opts.preserveFocus },
      {
        enableScripts: true,
        enableFindWidget: true,
        localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview')],
      },
    );
    return this.adopt(view, panel, runDirs);
  }

  private adopt(view: ViewName, panel: vscode.WebviewPanel, runDirs: string[]): FlowloopPanel {
    const p = new FlowloopPanel(view, panel, runDirs, this.context.extensionUri, this.output);
    p.onOpen = (target, dirs) => {
      if (dirs.length) this.show(target, dirs);
    };
    this.panels.set(view, [...(this.panels.get(view) ?? []), p]);
    p.onDidDispose(() =>
      this.panels.set(
        view,
        (this.panels.get(view) ?? []).filter((x) => x !== p),
      ),
    );
    return p;
  }

  dispose(): void {
    for (const list of this.panels.values()) for (const p of list) p.panel.dispose();
    for (const s of this.subs) s.dispose();
  }
}

/** A run folder whose run.json says running and whose process is alive. */
function isLive(runDir: string): boolean {
  const info = readRunInfo(runDir);
  return !!info && withLiveness(info).status === 'running';
}

const stateKey = (view: ViewName) => `flowloop.panel.${view}`;
