import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { RunEvent, RunStatus } from '../core/experiment/events';
import { LocalWorker } from '../core/executor/local';
import { configLabel, progressText, resultOf, type RunProgressReport } from './runWording';

/** A run started from this window (the worker process and what it has reported so far). */
export interface ManagedRun {
  /** Sequence number within this window. */
  readonly key: number;
  readonly configPath: string;
  /** "quick" or "quick · baseline temp". */
  readonly label: string;
  readonly set: string[];
  readonly pid: number;
  readonly startedAt: number;
  status: 'starting' | RunStatus;
  runDir?: string;
  runId?: string;
  /** The worker's last log line / stderr line / error: what a person sees when it dies. */
  lastMessage: string;
  error?: string;
  /** Reasons the runner reported the run degraded (RunContext.degrade), in order. */
  degraded?: string[];
  progress?: RunProgressReport;
  cancelRequested: boolean;
  /** Resolves when the worker process has exited and the final status is known. */
  readonly done: Promise<ManagedRun>;
}

export interface RunRequest {
  configPath: string;
  workspace: string;
  set?: string[];
  /** Appended to the label ("baseline temp"). */
  variant?: string;
  /** Where runs go (default: <workspace>/.flowloop/runs, the worker decides). */
  outDir?: string;
}

/** Progress is pushed to the CodeLens at most this often per run. */
const PROGRESS_MS = 300;

const isTerminal = (s: ManagedRun['status']) => s === 'finished' || s === 'degraded' || s === 'failed' || s === 'cancelled';

/**
 * The run manager: starts `dist/worker.js` per run through the local executor's launcher
 * (core/executor/local.ts: IPC, output lines, stop in steps, run.json repaired when a worker dies), shows
 * one progress notification per run with a working Cancel, a status-bar item while runs are active and
 * the worker's log in the "Flowloop" Output channel. A run survives closing its views; disposing the
 * manager (window close) stops every worker and its process tree. A worker that dies without saying
 * `done` is shown as failed with its last message (and its run.json is corrected if it still says running).
 */
export class RunManager implements vscode.Disposable {
  private readonly runs = new Map<number, ManagedRun>();
  /** The worker of each local run (core/executor/local.ts: fork, relay, stop in steps). */
  private readonly workers = new Map<number, LocalWorker>();
  /** Runs adopted from elsewhere (Slurm jobs) and how to stop or leave them. */
  private readonly remote = new Map<number, { stop(): void; detach(): void }>();
  /** Set by extension/slurmRuns.ts: starts a run on the executor the settings choose (undefined: here). */
  executorStart?: (req: RunRequest) => Promise<ManagedRun | undefined> | undefined;
  private seq = 0;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<ManagedRun | undefined>();
  private readonly eventEmitter = new vscode.EventEmitter<{ run: ManagedRun; event: RunEvent }>();
  private readonly progressEmitter = new vscode.EventEmitter<ManagedRun>();
  /** Fires (at most every PROGRESS_MS per run) when a run's progress changed: the CodeLens follows the status bar. */
  readonly onDidProgress = this.progressEmitter.event;
  private readonly progressTimers = new Map<number, NodeJS.Timeout>();
  /** Fires when a run starts, changes status or ends. */
  readonly onDidChangeRuns = this.changed.event;
  /** Every RunEvent a worker sends, in order. */
  readonly onDidReceiveEvent = this.eventEmitter.event;

  constructor(
    private readonly workerPath: string,
    private readonly output: vscode.OutputChannel,
    private readonly apiKey: () => Thenable<string | undefined>,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('flowloop.runs', vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = 'Flowloop runs';
    this.statusItem.command = 'flowloop.showLog';
  }

  /** Runs started in this window that have not ended. */
  active(): ManagedRun[] {
    return [...this.runs.values()].filter((r) => !isTerminal(r.status));
  }

  /** Every run started in this window (newest last). */
  all(): ManagedRun[] {
    return [...this.runs.values()];
  }

  isRunning(configPath: string): boolean {
    return this.active().some((r) => r.configPath === configPath);
  }

  /**
   * Start a worker for a config. Refused (undefined, with a message) in an untrusted workspace or when
   * the worker bundle is missing. The caller validates the config first.
   */
  async start(req: RunRequest): Promise<ManagedRun | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window
        .showErrorMessage(
          'Flowloop: runs are disabled in an untrusted workspace (a run executes code and reads the files its config names). Trust the workspace to run experiments.',
          'Manage Workspace Trust',
        )
        .then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
      return undefined;
    }
    const elsewhere = this.executorStart?.(req);
    if (elsewhere) return elsewhere;
    if (!existsSync(this.workerPath)) {
      void vscode.window.showErrorMessage(`Flowloop: the worker bundle is missing (${this.workerPath}); run \`npm run build\`.`);
      return undefined;
    }
    const key = await this.apiKey();
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The API key goes ONLY into the worker's environment: never into settings, configs, run folders or logs.
    if (key) env.FLOWLOOP_LLM_API_KEY = key;
    // Setting flowloop.llm.baseUrl → OPENAI_BASE_URL, which core's LLM client (the OpenAI SDK) uses when the
    // config has no llm.baseURL: a config's own llm.baseURL wins over the setting, the setting over an
    // OPENAI_BASE_URL inherited from VS Code's environment.
    const baseUrl = vscode.workspace.getConfiguration('flowloop').get<string>('llm.baseUrl', '').trim();
    if (baseUrl) env.OPENAI_BASE_URL = baseUrl;
    const label = configLabel(req.configPath) + (req.variant ? ` · ${req.variant}` : '');
    let resolveDone!: (r: ManagedRun) => void;
    // the run exists before the worker: its first events and lines have somewhere to go
    const run = {
      key: ++this.seq,
      configPath: req.configPath,
      label,
      set: req.set ?? [],
      pid: -1,
      startedAt: Date.now(),
      status: 'starting',
      lastMessage: 'starting worker',
      cancelRequested: false,
      done: new Promise<ManagedRun>((r) => (resolveDone = r)),
    } as ManagedRun & { pid: number };
    const worker = new LocalWorker({
      workerPath: this.workerPath,
      cwd: req.workspace,
      env,
      request: { type: 'start', configPath: req.configPath, set: req.set, outDir: req.outDir, workspace: req.workspace },
      onEvent: (e) => this.onEvent(run, e),
      onLine: (line, stream) => this.onLine(run, line, stream),
      onLog: (m) => this.log(run, m),
    });
    run.pid = worker.pid;
    this.runs.set(run.key, run);
    this.workers.set(run.key, worker);
    this.log(run, `start ${req.configPath}${run.set.length ? ` --set ${run.set.join(' ')}` : ''} (worker pid ${run.pid})`);
    if (baseUrl) this.log(run, `LLM base URL from the setting flowloop.llm.baseUrl: ${baseUrl} (a config's llm.baseURL overrides it)`);
    void worker.done.then((end) => {
      run.status = end.status;
      if (end.runDir) run.runDir = end.runDir;
      if (end.error) run.error = end.error;
      if (run.status === 'failed' && !run.error) run.error = run.lastMessage;
      if (run.status === 'degraded' && !run.degraded) run.degraded = end.degraded;
      this.workers.delete(run.key);
      this.log(run, `${run.status}${run.error ? `: ${run.error}` : ''}${run.runDir ? ` — ${run.runDir}` : ''}`);
      this.updateStatusBar();
      this.changed.fire(run);
      resolveDone(run);
      this.announce(run);
    });
    this.updateStatusBar();
    this.changed.fire(run);
    this.showProgress(run);
    return run;
  }

  /** The end of a run, said once: an error, a warning (degraded), or a note with Open Run. */
  private announce(run: ManagedRun): void {
    if (run.status === 'failed') {
      void vscode.window
        .showErrorMessage(`Flowloop: ${run.label} failed: ${run.error}`, 'Show Log')
        .then((p) => p && this.output.show(true));
    } else if (run.status === 'degraded') {
      void vscode.window
        .showWarningMessage(`Flowloop: ${run.label} finished degraded: ${(run.degraded ?? []).join('; ')}`, 'Open Run')
        .then((p) => p && vscode.commands.executeCommand('flowloop.openRun', run.runDir));
    } else if (run.status === 'cancelled') {
      void vscode.window.showInformationMessage(
        `Flowloop: ${run.label} stopped${run.runDir ? ' — what it reported so far is kept in its run folder' : ''}.`,
      );
    } else if (run.status === 'finished') {
      const key = run.runDir ? resultOf(run.runDir) : undefined;
      void vscode.window
        .showInformationMessage(`Flowloop: ${run.label} finished${key ? ` — ${key}` : ''}.`, 'Open Run')
        .then((p) => p && vscode.commands.executeCommand('flowloop.openRun', run.runDir));
    }
  }

  /**
   * A run that lives outside this window (a Slurm job, extension/slurmRuns.ts): listed, followed and stopped
   * like a worker run. The caller feeds it events, log lines and its end; Stop calls `control.stop()`, and
   * closing the window only `control.detach()`es (the jobs go on; a reopened window reattaches).
   */
  adopt(
    init: { configPath: string; label: string; set?: string[]; runDir?: string; message: string },
    control: { stop(): void; detach(): void },
  ) {
    let resolveDone!: (r: ManagedRun) => void;
    const run: ManagedRun = {
      key: ++this.seq,
      configPath: init.configPath,
      label: init.label,
      set: init.set ?? [],
      pid: -1,
      startedAt: Date.now(),
      status: 'running',
      runDir: init.runDir,
      lastMessage: init.message,
      cancelRequested: false,
      done: new Promise<ManagedRun>((r) => (resolveDone = r)),
    };
    this.runs.set(run.key, run);
    this.remote.set(run.key, control);
    this.log(run, init.message);
    this.updateStatusBar();
    this.changed.fire(run);
    this.showProgress(run);
    return {
      run,
      event: (e: RunEvent) => this.onEvent(run, e),
      message: (line: string) => {
        run.lastMessage = line;
        this.log(run, line);
        this.changed.fire(run);
      },
      end: (status: RunStatus, error?: string) => {
        if (isTerminal(run.status)) return;
        run.status = status;
        if (error) run.error = error;
        this.remote.delete(run.key);
        this.log(run, `${status}${error ? `: ${error}` : ''}${run.runDir ? ` — ${run.runDir}` : ''}`);
        this.updateStatusBar();
        this.changed.fire(run);
        resolveDone(run);
        this.announce(run);
      },
    };
  }

  /** Ask a run to stop: IPC cancel, then SIGTERM to its tree, then SIGKILL (a Slurm run: scancel). Resolves when it has exited. */
  stop(run: ManagedRun): Promise<ManagedRun> {
    if (isTerminal(run.status)) return run.done;
    const remote = this.remote.get(run.key);
    if (remote) {
      if (!run.cancelRequested) {
        run.cancelRequested = true;
        this.log(run, 'cancel requested');
        remote.stop();
      }
      return run.done;
    }
    if (!run.cancelRequested) {
      run.cancelRequested = true;
      this.log(run, 'cancel requested');
      this.workers.get(run.key)?.cancel();
    }
    return run.done;
  }

  private onEvent(run: ManagedRun, event: RunEvent): void {
    switch (event.type) {
      case 'run-started':
        run.status = 'running';
        run.runDir = event.runDir;
        run.runId = event.runId;
        run.lastMessage = `started ${event.runDir}`;
        this.log(run, `run folder ${event.runDir}`); // the tensor backend and why follow as a log event (runner setBackend)
        this.changed.fire(run);
        break;
      case 'progress':
        run.progress = { phase: event.phase, done: event.done, total: event.total, message: event.message, run: event.run };
        this.updateStatusBar();
        this.progressChanged(run);
        break;
      case 'log':
        run.lastMessage = event.message;
        this.log(run, `${event.level === 'info' ? '' : `${event.level}: `}${event.message}`);
        break;
      case 'metric':
        break;
      case 'run-failed':
        run.error = event.where ? `${event.where}: ${event.error}` : event.error;
        run.lastMessage = run.error;
        break;
      case 'run-cancelled':
        run.lastMessage = `cancelled: ${event.reason}`;
        break;
      case 'run-degraded':
        run.degraded = [...(run.degraded ?? []), event.reason];
        this.log(run, `warning: degraded — ${event.reason}`);
        this.changed.fire(run);
        break;
      case 'run-finished':
        run.lastMessage = `finished in ${(event.durationMs / 1000).toFixed(1)} s`;
        break;
      case 'artifact':
        this.log(run, `artifact ${event.path}`);
        break;
      default:
        break;
    }
    this.eventEmitter.fire({ run, event });
  }

  private progressChanged(run: ManagedRun): void {
    if (this.progressTimers.has(run.key)) return;
    this.progressTimers.set(
      run.key,
      setTimeout(() => {
        this.progressTimers.delete(run.key);
        this.progressEmitter.fire(run);
      }, PROGRESS_MS),
    );
  }

  private onLine(run: ManagedRun, line: string, stream: string): void {
    run.lastMessage = line;
    this.output.appendLine(`[${run.label}${stream === 'stderr' ? '' : ' stdout'}] ${line}`);
  }

  private log(run: ManagedRun, message: string): void {
    this.output.appendLine(`[${run.label}] ${message}`);
  }

  /** One progress notification per run, its Cancel stops the worker; it closes when the run ends. */
  private showProgress(run: ManagedRun): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Flowloop: ${run.label}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => void this.stop(run));
        let lastPhase = '';
        let reported = 0;
        const sub = this.onDidReceiveEvent(({ run: r, event }) => {
          if (r !== run) return;
          if (event.type === 'run-started') progress.report({ message: `running (${event.kind}) — ${basename(event.runDir)}` });
          // before the first progress phase, the worker's log says what it is doing (loading data, backend…)
          if (event.type === 'log' && !lastPhase)
            progress.report({ message: event.message.length > 90 ? `${event.message.slice(0, 89)}…` : event.message });
          if (event.type !== 'progress') return;
          lastPhase = event.phase;
          // the run's share (runProgress.ts) grows over the whole run: a determinate bar; a phase without it, a message only
          const share = event.run ? Math.round(100 * event.run.share) : undefined;
          const increment = share !== undefined && share > reported ? share - reported : undefined;
          if (increment) reported = share!;
          progress.report({ message: `${progressText(event)}${event.message ? ` — ${event.message}` : ''}`, increment });
        });
        progress.report({ message: run.pid > 0 ? 'starting worker…' : run.lastMessage }); // an adopted (Slurm) run: what was submitted
        return run.done.then(() => sub.dispose());
      },
    );
  }

  private updateStatusBar(): void {
    const active = this.active();
    void vscode.commands.executeCommand('setContext', 'flowloop.running', active.length > 0);
    if (!active.length) {
      this.statusItem.hide();
      return;
    }
    const one = active[0];
    const p = one.progress;
    this.statusItem.text =
      active.length === 1 ? `$(sync~spin) ${one.label}${p ? ` ${progressText(p)}` : ''}` : `$(sync~spin) Flowloop: ${active.length} runs`;
    this.statusItem.tooltip = `Flowloop runs:\n${active.map((r) => `${r.label} (pid ${r.pid}) — ${r.status}`).join('\n')}\nClick for the worker log.`;
    this.statusItem.show();
  }

  /** Window close: stop every worker and its tree (IPC cancel + SIGTERM now, SIGKILL after 2 s). */
  async stopAll(): Promise<void> {
    for (const [key, control] of this.remote) {
      control.detach();
      this.remote.delete(key);
    }
    await Promise.all([...this.workers.values()].map((w) => w.kill(2000)));
  }

  dispose(): void {
    void this.stopAll();
    this.statusItem.dispose();
    for (const t of this.progressTimers.values()) clearTimeout(t);
    this.progressEmitter.dispose();
    this.changed.dispose();
    this.eventEmitter.dispose();
  }
}
