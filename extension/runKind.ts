/**
 * What kind of run a folder holds, as the views need to know it: its dataset and method (for the comparison's
 * paper rows) and which views apply to it. Read from the run's config.json / run.json; used by the view state
 * builder (viewState.ts), the run pages (runPage.ts) and the commands.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FlowloopConfig } from '../core/experiment/configTypes';
import { readRunInfo } from '../core/experiment/runStore';
import type { ViewName } from '../webview/contract';

/**
 * Dataset folder name and method of a run, from its resolved config.json (flat configs, one schema per kind):
 * Flower → `objective` (sft = BIGRec, flower, ifairlrs; `compare` lists several), sequential → `model`,
 * AFL → `agents`. The compare view maps the method to a paper row (webview/compare/paper.ts).
 */
export function describeConfig(config: Partial<FlowloopConfig> | undefined): { dataset?: string; method?: string } {
  if (!config) return {};
  const dataset = typeof config.dataset === 'string' ? basename(config.dataset.replace(/\/+$/, '')) : undefined;
  let method: unknown;
  if (config.kind === 'flower')
    method = Array.isArray(config.compare) && config.compare.length ? config.compare.join('+') : config.objective;
  else if (config.kind === 'sequential') method = config.model;
  else if (config.kind === 'afl') method = config.agents;
  return { dataset, method: typeof method === 'string' ? method : undefined };
}

/**
 * Why `view` does not apply to the run in `runDir` (undefined: it applies). The trie explorer shows a Flower
 * run's prefix tree and policy (docs/methods.md §A3), the transcripts an AFL run's dialogues (§B2); loss
 * curves and the comparison apply to every run.
 */
export function viewNotApplicable(view: ViewName, runDir: string): string | undefined {
  const info = readRunInfo(runDir);
  const kind = info?.kind ?? (existsSync(join(runDir, 'sweep.json')) ? 'sweep' : 'unknown');
  const name = info?.name ?? basename(runDir);
  if (view === 'trie' && kind !== 'flower')
    return `the trie flow explorer shows a Flower run's prefix tree and policy (docs/methods.md §A3); ${name} is a ${kind} run.`;
  if (view === 'transcripts' && kind !== 'afl')
    return `transcripts are the dialogues of an AFL run (docs/methods.md §B2); ${name} is a ${kind} run.`;
  return undefined;
}

/** The views that apply to a run, in the order a person would look at them. */
export function applicableViews(runDir: string): ViewName[] {
  return (['loss', 'trie', 'transcripts', 'compare'] as ViewName[]).filter((v) => !viewNotApplicable(v, runDir));
}
