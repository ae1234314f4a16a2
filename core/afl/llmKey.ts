/**
 * Which endpoint each AFL agent talks to and whether the environment holds the API key it needs
 * (docs/methods.md §B2). Light on purpose (no SDK): `flowloop validate`, `flowloop run` and the editor
 * ask it before anything runs.
 */
import type { AflConfig } from '../experiment/configTypes';
import type { LlmSettings } from './llm/client';

/** The API key from the environment: FLOWLOOP_LLM_API_KEY, else OPENAI_API_KEY. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.FLOWLOOP_LLM_API_KEY || env.OPENAI_API_KEY || undefined;
}

type Llm = AflConfig['llm'];
export type AgentRole = 'rec' | 'user';
export const OPENAI_URL = 'https://api.openai.com/v1';

/** One agent's endpoint settings: `llm.<role>` over the shared `llm` fields. */
export function agentLlm(llm: Llm, role: AgentRole): Omit<LlmSettings, 'cacheDir'> {
  const o = (llm[role] ?? {}) as Partial<Llm>;
  const pick = <K extends keyof Llm>(k: K): Llm[K] => (o[k] !== undefined ? o[k] : llm[k]) as Llm[K];
  return {
    baseURL: pick('baseURL'),
    model: pick('model'),
    temperature: pick('temperature'),
    topP: pick('topP'),
    maxTokens: pick('maxTokens'),
    seed: pick('seed'),
    stop: pick('stop'),
    extraBody: pick('extraBody') as Record<string, unknown> | undefined,
    concurrency: pick('concurrency'),
    timeoutMs: pick('timeoutMs'),
    maxRetries: pick('maxRetries'),
  };
}

/** The endpoint an agent talks to: its baseURL, else OPENAI_BASE_URL (the SDK's own variable), else OpenAI. */
export function endpointOf(baseURL: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (baseURL ?? env.OPENAI_BASE_URL ?? OPENAI_URL).replace(/\/+$/, '');
}

/**
 * Why an `agents: "llm"` config cannot run in this environment: an agent at the OpenAI endpoint without
 * an API key (local servers need none). `flowloop validate` prints it, `flowloop run` exits 2 with it.
 */
export function missingKey(
  config: { kind?: unknown; agents?: unknown; llm?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (config.kind !== 'afl' || (config.agents ?? 'rule-based') !== 'llm' || apiKeyFromEnv(env)) return undefined;
  const llm = (config.llm ?? {}) as Llm;
  const roles = (['rec', 'user'] as const).filter((r) => endpointOf(agentLlm(llm, r).baseURL, env) === OPENAI_URL);
  if (roles.length === 0) return undefined;
  return `the API key is missing: agents "llm" call ${OPENAI_URL} (${roles.map((r) => (r === 'rec' ? 'recommendation agent' : 'user agent')).join(' and ')}), which needs one — set FLOWLOOP_LLM_API_KEY (or OPENAI_API_KEY), use "Flowloop: Set LLM API Key" in VS Code, or set llm.baseURL to a local server (vLLM, Ollama, llama.cpp)`;
}

/** The `llm` config path of the key problem (for located errors). */
export const KEY_PATH = 'llm';
