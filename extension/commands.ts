import * as vscode from 'vscode';
import { scancel } from '../core/executor/slurm';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { validateConfigText, formatIssue } from '../core/experiment/validate';
import type { RunListing } from '../core/experiment/runStore';
import { VIEW_TITLES, type ViewName } from '../webview/contract';
import { applicableViews, viewNotApplicable } from './viewState';
import { BASELINES, type Baseline } from './baselines';
import { baselineConfigName, baselineRunSets, initDirOf, missingInitFrom, type BaselineOutcome } from '../core/experiment/baselines';
import type { ApiKeyStore } from './secrets';
import type { ManagedRun, RunManager } from './runManager';
import type { ExperimentStore } from './store';
import type { PanelManager } from './panels';
import type { TreeNode } from './tree';
import { formatMetric, shortTime } from './tree';
import { newFromTemplate } from './templates';
import { previewAflPrompts } from './aflPreview';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  runs: RunManager;
  store: ExperimentStore;
  panels: PanelManager;
  keys: ApiKeyStore;
  output: vscode.OutputChannel;
}

const isConfigPath = (p: string) => p.endsWith('.flowloop.json');

/** The view a run opens in by default: AFL dialogues → transcripts, everything that trains → loss curves. */
export function defaultView(kind: string | undefined): ViewName {
  return kind === 'afl' ? 'transcripts' : 'loss';
}

/** Registers every `flowloop.*` command (package.json `contributes.commands`). */
export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const { runs, store, panels, keys, output, context } = d;

  /** A config from a command argument (Uri, tree node, path), the active editor, or a quick pick. */
  async function resolveConfig(arg: unknown): Promise<vscode.Uri | undefined> {
    if (arg instanceof vscode.Uri && isConfigPath(arg.fsPath)) return arg;
    if (typeof arg === 'string' && isConfigPath(arg)) return vscode.Uri.file(arg);
    const node = arg as TreeNode | undefined;
    if (node && typeof node === 'object' && 'type' in node && node.type === 'experiment') return node.experiment.uri;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && isConfigPath(active.fsPath)) return active;
    await store.refresh();
    const exps = store.experiments();
    if (exps.length === 1) return exps[0].uri;
    const pick = await vscode.window.showQuickPick(
      exps.map((e) => ({ label: basename(e.uri.fsPath), description: e.kind, detail: vscode.workspace.asRelativePath(e.uri), uri: e.uri })),
      { title: 'Flowloop: pick an experiment config' },
    );
    return pick?.uri;
  }

  /** Run folders from an argument (run dir path, tree node(s), config Uri → its current/last run), or a pick. */
  async function resolveRunDirs(arg: unknown, selected?: unknown, many = false): Promise<string[]> {
    const fromNode = (n: unknown): string | undefined => {
      if (typeof n === 'string') return isConfigPath(n) ? lastRunDir(n) : n;
      if (n instanceof vscode.Uri) return isConfigPath(n.fsPath) ? lastRunDir(n.fsPath) : n.fsPath;
      const node = n as TreeNode | ManagedRun | undefined;
      if (node && typeof node === 'object') {
        if ('type' in node && node.type === 'run') return node.listing.dir;
        if ('type' in node && node.type === 'experiment') return lastRunDir(node.experiment.uri.fsPath);
        if ('key' in node && 'pid' in node) return node.runDir;
      }
      return undefined;
    };
    const dirs = (Array.isArray(selected) && selected.length ? selected : Array.isArray(arg) ? arg : arg !== undefined ? [arg] : [])
      .map(fromNode)
      .filter((x): x is string => !!x && existsSync(x));
    if (dirs.length) return [...new Set(dirs)];
    const activeRun = runs.active().find((r) => r.runDir);
    if (!many && activeRun?.runDir) return [activeRun.runDir];
    const editor = vscode.window.activeTextEditor?.document.uri.fsPath;
    if (!many && editor && isConfigPath(editor)) {
      const last = lastRunDir(editor);
      if (last) return [last];
    }
    await store.refresh();
    const all = store.allRuns();
    if (!all.length) {
      void vscode.window.showInformationMessage('Flowloop: no runs yet. Run an experiment first (▶ Run above a *.flowloop.json).');
      return [];
    }
    const items = all.map((l) => runPickItem(l));
    if (many) {
      const picks = await vscode.window.showQuickPick(items, { title: 'Flowloop: pick runs', canPickMany: true });
      return (picks ?? []).map((p) => p.dir);
    }
    const pick = await vscode.window.showQuickPick(items, { title: 'Flowloop: pick a run' });
    return pick ? [pick.dir] : [];
  }

  function lastRunDir(configPath: string): string | undefined {
    const active = runs.active().find((r) => r.configPath === configPath && r.runDir);
    return active?.runDir ?? store.lastRun(configPath)?.dir;
  }

  /** Save, validate (located errors → refuse and show Problems), then start a worker. */
  async function runConfig(
    uri: vscode.Uri,
    opts: { set?: string[]; variant?: string; openView?: boolean } = {},
  ): Promise<ManagedRun | undefined> {
    const doc = vscode.workspace.textDocuments.find((t) => t.uri.fsPath === uri.fsPath);
    if (doc?.isDirty) await doc.save();
    const text = doc ? doc.getText() : readFileSync(uri.fsPath, 'utf8');
    const { errors, config } = validateConfigText(text, uri.fsPath);
    if (errors.length) {
      const first = formatIssue(vscode.workspace.asRelativePath(uri), errors[0]);
      void vscode.window
        .showErrorMessage(`Flowloop: the config has ${errors.length} problem${errors.length > 1 ? 's' : ''}: ${first}`, 'Show Problems')
        .then((p) => p && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return undefined;
    }
    const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? dirname(uri.fsPath);
    const run = await runs.start({ configPath: uri.fsPath, workspace: folder, set: opts.set, variant: opts.variant });
    if (run && opts.openView !== false && vscode.workspace.getConfiguration('flowloop').get<boolean>('runs.openView', true)) {
      const sub = runs.onDidReceiveEvent(({ run: r, event }) => {
        if (r !== run || event.type !== 'run-started') return;
        sub.dispose();
        const view = defaultView(config?.kind);
        if (existsSync(join(context.extensionPath, 'dist', 'webview', `${view}.js`)))
          panels.show(view, [event.runDir], { preserveFocus: true });
      });
      void run.done.then(() => sub.dispose());
    }
    return run;
  }

  /** Opens a view on runs it applies to; for the others it says why and offers the views that apply. */
  async function showView(view: ViewName, arg: unknown, selected: unknown): Promise<unknown> {
    const dirs = await resolveRunDirs(arg, selected, false);
    if (!dirs.length) return undefined;
    const why = dirs.map((d) => viewNotApplicable(view, d)).filter((w): w is string => !!w);
    if (why.length === dirs.length) {
      const offer = applicableViews(dirs[0]).filter((v) => v !== view);
      const labels = offer.map((v) => VIEW_TITLES[v].replace(/^Flowloop: /, ''));
      void vscode.window.showInformationMessage(`Flowloop: ${why[0]}`, ...labels).then((p) => {
        const v = offer[labels.indexOf(p ?? '')];
        if (v) void panels.show(v, dirs);
      });
      return undefined;
    }
    return panels.show(
      view,
      dirs.filter((d) => !viewNotApplicable(view, d)),
    );
  }

  const reg = <A extends unknown[]>(id: string, fn: (...args: A) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: A) => {
      try {
        return await fn(...args);
      } catch (e) {
        const msg = (e as Error)?.message ?? String(e);
        output.appendLine(`[${id}] ${msg}`);
        void vscode.window.showErrorMessage(`Flowloop: ${msg}`);
        return undefined;
      }
    });

  return [
    reg('flowloop.runExperiment', async (arg?: unknown, opts?: { set?: string[]; openView?: boolean }) => {
      const uri = await resolveConfig(arg);
      if (!uri) return undefined;
      if (runs.isRunning(uri.fsPath) && !opts) {
        const pick = await vscode.window.showWarningMessage(
          `Flowloop: ${basename(uri.fsPath)} is already running.`,
          'Run Another',
          'Stop It',
        );
        if (pick === 'Stop It') return vscode.commands.executeCommand('flowloop.stopRun', uri);
        if (pick !== 'Run Another') return undefined;
      }
      return runConfig(uri, { set: opts?.set, openView: opts?.openView });
    }),

    // the baselines of the config's kind, one after another, with the CLI's overrides (core/experiment/baselines.ts):
    // a baseline that starts from another's run (flower from sft) gets `init=<that run's folder>`
    reg('flowloop.runBaselines', async (arg?: unknown, names?: string[]) => {
      const uri = await resolveConfig(arg);
      if (!uri) return [];
      let config: { kind?: string; name?: unknown } = {};
      try {
        config = JSON.parse(readFileSync(uri.fsPath, 'utf8'));
      } catch {
        /* validated below by runConfig */
      }
      const kind = config.kind;
      const all = BASELINES[kind ?? ''] ?? [];
      if (!all.length) {
        void vscode.window.showInformationMessage(`Flowloop: no baselines are defined for kind "${kind ?? '?'}".`);
        return [];
      }
      let chosen: Baseline[];
      if (Array.isArray(names)) chosen = all.filter((b) => names.includes(b.name));
      else {
        const picks = await vscode.window.showQuickPick(
          all.map((b) => ({
            label: b.name,
            description: [...b.set, ...(b.initFrom ? [`init=<its ${b.initFrom} run>`] : [])].join(' '),
            detail: b.description,
            picked: true,
            b,
          })),
          { title: `Flowloop: baselines of ${basename(uri.fsPath)} (run one after another)`, canPickMany: true },
        );
        if (!picks?.length) return [];
        chosen = picks.map((p) => p.b);
      }
      const orphan = missingInitFrom(chosen);
      if (orphan) {
        void vscode.window.showErrorMessage(
          `Flowloop: baseline ${orphan.name} starts from the ${orphan.initFrom} run; pick ${orphan.initFrom} too.`,
        );
        return [];
      }
      const configName = baselineConfigName(config, uri.fsPath);
      const outcomes: BaselineOutcome[] = chosen.map((baseline) => ({ baseline, status: 'not run' }));
      const done: ManagedRun[] = [];
      for (const o of outcomes) {
        const { initDir, error } = initDirOf(o.baseline, outcomes);
        if (error) {
          Object.assign(o, { status: 'failed', error });
          output.appendLine(`[baselines] ${o.baseline.name} not run: ${error}`);
          void vscode.window.showErrorMessage(`Flowloop: baseline ${o.baseline.name} not run: ${error}.`);
          continue;
        }
        const set = baselineRunSets(o.baseline, configName, [], { initDir });
        const run = await runConfig(uri, { set, variant: `baseline ${o.baseline.name}`, openView: false });
        if (!run) break;
        done.push(await run.done);
        Object.assign(o, { status: run.status === 'starting' ? 'failed' : run.status, runDir: run.runDir });
        if (run.cancelRequested) break;
      }
      return done;
    }),

    reg('flowloop.stopRun', async (arg?: unknown) => {
      let targets: ManagedRun[];
      const active = runs.active();
      if (arg && typeof arg === 'object' && 'key' in (arg as object)) targets = [arg as ManagedRun];
      else if (arg instanceof vscode.Uri || typeof arg === 'string') {
        const p = arg instanceof vscode.Uri ? arg.fsPath : arg;
        targets = active.filter((r) => r.configPath === p || r.runDir === p);
      } else if (arg && typeof arg === 'object' && (arg as TreeNode).type === 'run') {
        const listing = (arg as Extract<TreeNode, { type: 'run' }>).listing;
        targets = active.filter((r) => r.runDir === listing.dir);
        if (!targets.length && listing.info.status === 'running' && listing.info.slurm) {
          // a Slurm job followed by no run of this window: its pid is on a compute node — scancel it
          void scancel([listing.info.slurm.jobId]).then((err) => err && vscode.window.showErrorMessage(`Flowloop: ${err}`));
          store.schedule();
          return undefined;
        }
        if (!targets.length && listing.info.status === 'running' && listing.info.pid > 0) {
          // a run started elsewhere (CLI, another window): ask its process to stop (it records `cancelled`)
          try {
            process.kill(listing.info.pid, 'SIGTERM');
          } catch {
            /* already gone */
          }
          store.schedule();
          return undefined;
        }
      } else if (active.length <= 1) targets = active;
      else {
        const pick = await vscode.window.showQuickPick(
          active.map((r) => ({ label: r.label, description: r.status, detail: r.runDir, r })),
          { title: 'Flowloop: stop which run?' },
        );
        targets = pick ? [pick.r] : [];
      }
      if (!targets.length) {
        void vscode.window.showInformationMessage('Flowloop: no run to stop.');
        return undefined;
      }
      return Promise.all(targets.map((r) => runs.stop(r)));
    }),

    // Open Run: the run page (status, warnings, config diff, metrics, artifacts, links); a sweep opens in the comparison
    reg('flowloop.openRun', async (arg?: unknown, selected?: unknown) => {
      const [dir] = await resolveRunDirs(arg, selected);
      if (!dir) return undefined;
      const view: ViewName = existsSync(join(dir, 'sweep.json')) ? 'compare' : 'run';
      if (existsSync(join(context.extensionPath, 'dist', 'webview', `${view}.js`))) return panels.show(view, [dir]);
      const file = ['metrics.json', 'run.json', 'sweep.json'].map((f) => join(dir, f)).find(existsSync);
      if (file) await vscode.window.showTextDocument(vscode.Uri.file(file));
      return undefined;
    }),

    reg('flowloop.showRunsTable', async () => {
      await store.refresh();
      return panels.show(
        'runs',
        store.allRuns().map((l) => l.dir),
      );
    }),

    reg('flowloop.compareRuns', async (arg?: unknown, selected?: unknown) => {
      let dirs = await resolveRunDirs(arg, selected, true);
      if (dirs.length === 1 && !existsSync(join(dirs[0], 'sweep.json')) && arg === undefined)
        dirs = await resolveRunDirs(undefined, undefined, true);
      if (!dirs.length) return undefined;
      return panels.show('compare', dirs);
    }),

    // the view-title button and the welcome link pass the view's context object, not a template name
    reg('flowloop.newFromTemplate', (template?: unknown, name?: unknown) =>
      newFromTemplate(
        context.extensionPath,
        typeof template === 'string' ? template : undefined,
        typeof name === 'string' ? name : undefined,
      ),
    ),
    reg('flowloop.setApiKey', (value?: string) => keys.set(typeof value === 'string' ? value : undefined)),
    // the CLI bundle beside the worker; `user` lets tests (and the CodeLens) skip the input box
    reg('flowloop.previewAflPrompts', async (arg?: unknown, user?: number) => {
      const uri = await resolveConfig(arg);
      if (!uri) return undefined;
      return previewAflPrompts(context.asAbsolutePath('dist/cli.js'), uri, typeof user === 'number' ? user : undefined);
    }),
    reg('flowloop.clearApiKey', () => keys.clear()),
    reg('flowloop.showTrieFlow', (arg?: unknown, sel?: unknown) => showView('trie', arg, sel)),
    reg('flowloop.showLossCurves', (arg?: unknown, sel?: unknown) => showView('loss', arg, sel)),
    reg('flowloop.showTranscripts', (arg?: unknown, sel?: unknown) => showView('transcripts', arg, sel)),
    reg('flowloop.revealRunFolder', async (arg?: unknown) => {
      const [dir] = await resolveRunDirs(arg);
      if (!dir) return undefined;
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dir));
      return dir;
    }),
    reg('flowloop.showLog', () => output.show(true)),
    reg('flowloop.refresh', () => store.refresh()),
  ];
}

function runPickItem(l: RunListing): vscode.QuickPickItem & { dir: string } {
  const m = l.info.keyMetric ? ` · ${l.info.keyMetric.name} ${formatMetric(l.info.keyMetric.value)}` : '';
  return {
    label: `${l.info.name}  ${shortTime(l.info.startedAt)}`,
    description: `${l.sweep ? 'sweep · ' : ''}${l.info.status}${m}`,
    detail: l.dir,
    dir: l.dir,
  };
}
