/**
 * The LLM side of an AFL run (docs/methods.md §B2): one client per agent (the recommendation agent and the
 * user agent may use another model or endpoint each: `llm.rec`, `llm.user` over the shared `llm`), the
 * API key from the environment, prices per model, the run-wide budget, the model check before the first
 * user, and the fail-fast rule for failures no retry can mend.
 */
import { dirname, join, resolve, sep } from 'node:path';
import type { AflConfig } from '../experiment/configTypes';
import { LocatedError, type RunContext } from '../experiment/context';
import { Budget, LlmClient, type EndpointError, type LlmStats } from './llm/client';
import { agentLlm, apiKeyFromEnv, KEY_PATH, missingKey, type AgentRole } from './llmKey';

type Llm = AflConfig['llm'];

/** Default LLM cache folder: `<workspace>/.flowloop/cache/llm` (also with `--out`); else beside the run's `.flowloop`. */
export function defaultCacheDir(runDir: string, configPath: string, workspace?: string): string {
  if (workspace) return join(resolve(workspace), '.flowloop', 'cache', 'llm');
  const parts = resolve(runDir).split(sep);
  const k = parts.lastIndexOf('.flowloop');
  if (k > 0) return join(parts.slice(0, k + 1).join(sep) || sep, 'cache', 'llm');
  return join(dirname(configPath), '.flowloop', 'cache', 'llm');
}

/** USD per 1,000 tokens of a model: `prices` (per 1,000,000) by name, else `costPer1kTokens`, else 0 — no price is borrowed. */
export function priceOf(llm: Llm, model: string): { input: number; output: number; known: boolean } {
  const p = (llm.prices as Record<string, { input: number; output: number }> | undefined)?.[model];
  if (p) return { input: p.input / 1000, output: p.output / 1000, known: true };
  if (llm.costPer1kTokens) return { ...llm.costPer1kTokens, known: true };
  return { input: 0, output: 0, known: false };
}

export interface LlmClients {
  rec: LlmClient;
  user: LlmClient;
  /** The distinct clients (one when both agents share every setting). */
  all: LlmClient[];
  budget: Budget;
  /** The first failure no retry can mend, once one happened; `abort` is signalled with it. */
  fatal: () => EndpointError | null;
  /** Aborted on a fatal endpoint failure or an exhausted budget: the loops stop starting calls. */
  stop: AbortController;
  label: string;
}

/** Builds the agents' clients (one shared client when the settings are equal); the key comes from the environment only. */
export function makeClients(ctx: RunContext<AflConfig>): LlmClients {
  const llm = ctx.config.llm;
  const key = apiKeyFromEnv();
  const why = missingKey(ctx.config);
  if (why) throw new LocatedError(why, ctx.configPath, KEY_PATH);
  const cacheDir =
    llm.cache === false ? null : llm.cacheDir ? ctx.resolvePath(llm.cacheDir) : defaultCacheDir(ctx.runDir, ctx.configPath, ctx.workspace);
  const stop = new AbortController();
  const budget = new Budget(llm.budget?.maxCalls, llm.budget?.maxUsd, (why) => stop.abort(`stopped: budget (${why})`));
  let fatal: EndpointError | null = null;
  const onFatal = (e: EndpointError) => {
    if (!fatal) {
      fatal = e;
      stop.abort(e.message);
    }
  };
  const build = (role: AgentRole) => {
    const s = agentLlm(llm, role);
    const price = priceOf(llm, s.model);
    return new LlmClient({ ...s, cacheDir, costPer1kTokens: { input: price.input, output: price.output } }, key, ctx.seed, budget, onFatal);
  };
  const rec = build('rec');
  const same = JSON.stringify(agentLlm(llm, 'rec')) === JSON.stringify(agentLlm(llm, 'user'));
  const user = same ? rec : build('user');
  const describe = (c: LlmClient) =>
    `${c.settings.model} at ${c.endpoint} (temperature ${c.settings.temperature}${c.settings.topP !== undefined ? `, top_p ${c.settings.topP}` : ''}${c.settings.seed !== undefined ? `, seed ${c.settings.seed}` : ''}, concurrency ${c.settings.concurrency})`;
  const label = same ? `LLM ${describe(rec)}` : `LLM rec agent ${describe(rec)}; user agent ${describe(user)}`;
  return { rec, user, all: same ? [rec] : [rec, user], budget, fatal: () => fatal, stop, label };
}

/** Before the first user (`llm.checkModel`): every distinct endpoint/model answers GET /models; an EndpointError fails the run. */
export async function checkEndpoints(ctx: RunContext<AflConfig>, clients: LlmClients): Promise<void> {
  if (ctx.config.llm.checkModel === false) return;
  for (const c of clients.all) ctx.log(`model check: ${await c.checkModel(ctx.signal)}`);
}

/** Price notes for the run's log: which models have a price, which cost 0 for want of one. */
export function priceNotes(llm: Llm, clients: LlmClients): string[] {
  return [...new Set(clients.all.map((c) => c.settings.model))].map((m) => {
    const p = priceOf(llm, m);
    return p.known
      ? `${m}: $${(p.input * 1000).toFixed(4)} / $${(p.output * 1000).toFixed(4)} per 1M tokens in/out`
      : `${m}: no price in llm.prices: counted as $0`;
  });
}

/** The clients' statistics summed (one client when both agents share it). */
export function mergedStats(clients: LlmClients): LlmStats {
  const out = { ...clients.all[0].stats };
  for (const c of clients.all.slice(1)) {
    for (const [k, v] of Object.entries(c.stats) as [keyof LlmStats, number][])
      out[k] = k === 'maxInFlight' ? Math.max(out[k], v) : out[k] + v;
  }
  return out;
}

/** Share of the calls that reached the endpoint (not from the cache, not cut) that failed after every retry. */
export function failedShare(s: LlmStats): { failed: number; made: number; share: number } {
  const made = s.calls - s.cacheHits - s.cancelledCalls;
  return { failed: s.failedCalls, made, share: made > 0 ? s.failedCalls / made : 0 };
}
