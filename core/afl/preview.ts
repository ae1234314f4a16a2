/**
 * `flowloop afl preview <config> [--user N]` (and the editor's "Preview AFL prompts"): the messages the
 * recommendation agent and the user agent would receive in a user's first round (docs/methods.md §B2),
 * rendered from the config's prompt pack with the real prior, focus list and candidates, and no HTTP
 * call. The user agent's round-1 prompt needs the rec agent's reply: the preview assumes it picks the
 * prior, with a placeholder reason, and says so.
 */
import type { AflConfig } from '../experiment/configTypes';
import { LocatedError } from '../experiment/context';
import { loadConfig } from '../experiment/runner';
import { loopValues, RULE_BASED_LABEL } from './agents';
import { resolvePack } from './agentSetup';
import { buildUsers, candidateScores, datasetNameOf, loadModelSpec, loadRecRows, priorNames } from './inputs';
import { agentLlm } from './llmKey';
import { ablationEffects, renderMessages, type PromptPack } from './pack';
import { dirname, resolve } from 'node:path';

export interface PromptPreview {
  user: number;
  /** Index of the user among the run's users (what `--user` selects). */
  index: number;
  users: number;
  pack: string;
  rec: { role: string; content: string }[];
  userAgent: { role: string; content: string }[];
  /** Text of the whole preview, as the CLI prints it. */
  text: string;
}

const ASSUMED_REASON = "<the recommendation agent's reason>";

/** Renders the first-round prompts of user `index` (0-based among the config's users) without calling any LLM. */
export async function previewPrompts(configPath: string, opts: { set?: string[]; index?: number } = {}): Promise<PromptPreview> {
  const file = resolve(configPath);
  const c = loadConfig(file, opts.set ?? []) as AflConfig & { kind: string };
  if (c.kind !== 'afl') throw new LocatedError(`afl preview needs a config of kind "afl", this one is "${c.kind}"`, file, 'kind');
  const rel = (p: string) => resolve(dirname(file), p);
  const datasetDir = rel(c.dataset);
  const dataset = datasetNameOf(datasetDir, c.datasetName);
  const users = c.users ?? {};
  const inputs = loadRecRows(
    datasetDir,
    dataset,
    c.candidates ? rel(c.candidates) : undefined,
    users.sample ?? 'auto',
    users.seed ?? 2025,
    users.limit,
    c.itemNaming ?? 'methods',
  );
  const index = opts.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= inputs.rows.length)
    throw new LocatedError(`--user ${index}: the config has users 0..${inputs.rows.length - 1} (${inputs.sampleNote})`, file, 'users');
  const rows = [inputs.rows[index]];
  const pack: PromptPack = resolvePack(c.pack ?? 'default', dataset, datasetDir, rel, file);
  const modelOpts = { engine: c.engine ?? 'tfjs', device: c.device, configPath: file, catalogue: inputs.ds.catalogue } as const;
  const prior = await loadModelSpec(c.prior, rel, { ...modelOpts, path: 'prior', csvAllowed: true });
  const reward =
    c.rewardModel === c.prior && prior.kind === 'scorer'
      ? prior
      : await loadModelSpec(c.rewardModel, rel, { ...modelOpts, path: 'rewardModel', csvAllowed: false });
  try {
    const ps = await candidateScores(prior, rows, file);
    const rs = await candidateScores(reward, rows, file);
    const u = buildUsers(
      rows,
      prior.kind === 'none' ? null : { names: priorNames(prior, rows, ps, `${file} (prior)`), scores: ps },
      reward.kind === 'none' ? null : rs,
    )[0];
    const values = loopValues(pack, u, 1, null);
    const rec = renderMessages(pack, 'rec.system', 'rec.user', values);
    const item = u.prior ?? u.candidates[0];
    const userAgent = renderMessages(pack, 'user.system', 'user.user', { ...values, item, recReason: ASSUMED_REASON });
    const llm = c.llm;
    const who =
      (c.agents ?? 'rule-based') === 'llm'
        ? `rec agent ${agentLlm(llm, 'rec').model}, user agent ${agentLlm(llm, 'user').model} (no call is made)`
        : `agents "${c.agents ?? 'rule-based'}" (${RULE_BASED_LABEL}: these prompts are what agents "llm" would send)`;
    const block = (title: string, ms: { role: string; content: string }[]) => [
      `=== ${title}`,
      ...ms.map((m) => `--- ${m.role}\n${m.content}`),
    ];
    const abl = ablationEffects(pack);
    const text = [
      `AFL prompt preview: user ${u.id} (index ${index} of ${inputs.rows.length}: ${inputs.sampleNote}), round 1, pack ${pack.name}; ${who}`,
      `prior: ${u.prior ?? '(none)'} · focus: ${u.focus?.join(', ') ?? '(none)'} · target: ${u.target}`,
      '',
      ...block('recommendation agent, round 1', rec),
      '',
      ...block(
        `user agent, round 1 (assuming the rec agent recommends ${JSON.stringify(item)} with the reason ${ASSUMED_REASON})`,
        userAgent,
      ),
      '',
      `ablations: "w/o rec model" drops ${abl['w/o rec model'].length} line(s), "w/o reward model" drops ${abl['w/o reward model'].length} line(s) of these templates`,
    ].join('\n');
    return { user: u.id, index, users: inputs.rows.length, pack: pack.name, rec, userAgent, text };
  } finally {
    prior.scorer?.dispose();
    if (reward.scorer !== prior.scorer) reward.scorer?.dispose();
  }
}
