/**
 * What an AFL config asks for before the loop runs (docs/methods.md §B1, §B2): the prompt pack (built-in per dataset,
 * the released prompts, or a pack file) and the agents (the built-in rule-based pair, or LLM agents over the pack).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AflConfig } from '../experiment/configTypes';
import { LocatedError, type RunContext } from '../experiment/context';
import { RULE_BASED_LABEL, LlmRecAgent, LlmUserAgent, RuleRecAgent, RuleUserAgent, type AgentsBundle } from './agents';
import { makeClients, type LlmClients } from './llmAgents';
import { packFromJson, loadPackFile, type PromptPack } from './pack';
import { loadReleasedPack } from './released';
import lastfmPack from './packs/lastfm.json';
import steamPack from './packs/steam.json';
import movielensPack from './packs/movielens.json';

const BUILTIN_PACKS: Record<string, unknown> = { lastfm: lastfmPack, steam: steamPack, movielens: movielensPack };

/** Resolves `pack`: default (built-in per dataset), released, a pack file or a released-format JSON. */
export function resolvePack(
  spec: string,
  dataset: string,
  datasetDir: string,
  resolvePath: (p: string) => string,
  configPath: string,
): PromptPack {
  if (spec === 'default') return packFromJson(BUILTIN_PACKS[dataset], `core/afl/packs/${dataset}.json (built-in)`);
  const file = spec === 'released' ? join(datasetDir, 'prompts_released.json') : resolvePath(spec);
  if (!existsSync(file)) throw new LocatedError(`prompt pack not found: ${file}`, configPath, 'pack');
  let isReleased = spec === 'released';
  if (!isReleased) {
    try {
      const o = JSON.parse(readFileSync(file, 'utf8'));
      isReleased = o && typeof o === 'object' && 'loop' in o && 'arguments' in o && !('templates' in o);
    } catch {
      /* loadPackFile reports it */
    }
  }
  return isReleased ? loadReleasedPack(file) : loadPackFile(file);
}

/** The agents a config asks for; the LLM clients read the key from the environment only. */
export function makeAgents(
  ctx: RunContext<AflConfig>,
  pack: PromptPack,
  priorLabel: string,
  rewardLabel: string,
  llmClients?: LlmClients,
): AgentsBundle {
  const c = ctx.config;
  const matching = c.matching ?? 'lenient';
  const parseRetries = c.parseRetries ?? 3;
  if ((c.agents ?? 'rule-based') === 'rule-based') {
    return {
      rec: new RuleRecAgent(ctx.seed, priorLabel),
      user: new RuleUserAgent(rewardLabel),
      label: `built-in agents (${RULE_BASED_LABEL})`,
    };
  }
  const clients = llmClients ?? makeClients(ctx);
  const retry = c.llm.parseRetry ?? 'corrective-turn';
  return {
    rec: new LlmRecAgent(clients.rec, pack, matching, parseRetries, retry),
    user: new LlmUserAgent(clients.user, pack, matching, parseRetries, retry),
    clients,
    label: `${clients.label}; parse retries: ${retry}`,
  };
}
