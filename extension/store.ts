import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { formatIssue, MAX_CONFIG_BYTES, validateConfigText, type ConfigIssue } from '../core/experiment/validate';
import { listRuns, runsRoot, type RunListing } from '../core/experiment/runStore';
import type { RunManager } from './runManager';

/** One experiment config file in the workspace and the runs recorded for it (newest first). */
export interface Experiment {
  uri: vscode.Uri;
  /** Parsed "kind" (undefined while the file does not parse). */
  kind?: string;
  name?: string;
  description?: string;
  /** Located problems from core/experiment/validate (0 = runnable), and the first one in words. */
  problems: number;
  firstProblem?: string;
  runs: RunListing[];
}

const CONFIG_GLOB = '**/*.flowloop.json';
const EXCLUDE_GLOB = '**/{node_modules,.flowloop,.vscode-test,dist,.git}/**';

/**
 * What the sidebar and the CodeLens show: the workspace's configs and the run folders under each
 * workspace folder's `.flowloop/runs/` (read with core/experiment/runStore, never written here).
 * Refreshes are debounced: file watchers on configs and run folders and run-manager changes all
 * funnel into one scan per `delayMs`.
 */
export class ExperimentStore implements vscode.Disposable {
  private experimentsCache: Experiment[] = [];
  private otherRunsCache: RunListing[] = [];
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private readonly emitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Fires after each (debounced) rescan. */
  readonly onDidChange = this.emitter.event;
  /** Number of scans done (tests check that refreshes are debounced). */
  scans = 0;

  constructor(
    private readonly runs: RunManager,
    private readonly delayMs = 250,
  ) {
    const configs = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
    const runFiles = vscode.workspace.createFileSystemWatcher('**/.flowloop/runs/**/{run,sweep}.json');
    for (const w of [configs, runFiles]) {
      this.disposables.push(
        w,
        w.onDidCreate(() => this.schedule()),
        w.onDidChange(() => this.schedule()),
        w.onDidDelete(() => this.schedule()),
      );
    }
    this.disposables.push(
      runs.onDidChangeRuns(() => this.schedule()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.schedule()),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.fileName.endsWith('.flowloop.json')) this.schedule();
      }),
    );
  }

  experiments(): Experiment[] {
    return this.experimentsCache;
  }

  /** Runs whose config is not (or no longer) in the workspace. */
  otherRuns(): RunListing[] {
    return this.otherRunsCache;
  }

  /** Newest run of a config, if any. */
  lastRun(configPath: string): RunListing | undefined {
    const key = resolve(configPath);
    return this.experimentsCache.find((e) => e.uri.fsPath === key)?.runs[0];
  }

  allRuns(): RunListing[] {
    return [...this.experimentsCache.flatMap((e) => e.runs), ...this.otherRunsCache].sort((a, b) =>
      a.info.startedAt < b.info.startedAt ? 1 : -1,
    );
  }

  /** Ask for a rescan after the debounce delay (many triggers in a burst → one scan). */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, this.delayMs);
  }

  /** Rescan now (awaitable; concurrent calls share one scan). */
  refresh(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.scan().finally(() => {
        this.scanning = undefined;
      });
    }
    return this.scanning;
  }

  private async scan(): Promise<void> {
    this.scans++;
    const uris = await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE_GLOB, 500);
    uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    const experiments: Experiment[] = uris.map((uri) => ({ uri, runs: [], ...readHeader(uri.fsPath) }));
    const byPath = new Map(experiments.map((e) => [e.uri.fsPath, e]));
    const other: RunListing[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const listing of listRunsSafe(runsRoot(folder.uri.fsPath))) {
        const exp = listing.info.configPath ? byPath.get(resolve(listing.info.configPath)) : undefined;
        (exp ? exp.runs : other).push(listing);
      }
    }
    this.experimentsCache = experiments;
    this.otherRunsCache = other;
    this.emitter.fire();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
  }
}

/** listRuns, never throwing (a half-written folder must not empty the tree). */
export function listRunsSafe(root: string): RunListing[] {
  try {
    return existsSync(root) ? listRuns(root) : [];
  } catch {
    return [];
  }
}

/** kind / name / description of a config and its validation problems, tolerant of a file being edited. */
function readHeader(file: string): { kind?: string; name?: string; description?: string; problems: number; firstProblem?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { problems: 1, firstProblem: (e as Error).message };
  }
  let errors: ConfigIssue[];
  try {
    errors =
      text.length > MAX_CONFIG_BYTES
        ? [{ message: 'larger than a config can be', path: '', line: 1, col: 1, offset: 0, length: 0 }]
        : validateConfigText(text, file).errors;
  } catch (e) {
    errors = [{ message: (e as Error).message, path: '', line: 1, col: 1, offset: 0, length: 0 }];
  }
  const problems = errors.length;
  const firstProblem = errors[0] ? formatIssue(basename(file), errors[0]) : undefined;
  try {
    const c = JSON.parse(text);
    return {
      kind: typeof c.kind === 'string' ? c.kind : undefined,
      name: typeof c.name === 'string' ? c.name : undefined,
      description: typeof c.description === 'string' ? c.description : undefined,
      problems,
      firstProblem,
    };
  } catch {
    return { problems, firstProblem };
  }
}
