/**
 * LLM client for the AFL agents: any OpenAI-compatible chat endpoint through the
 * `openai` SDK (OpenAI, vLLM, Ollama, a local test server).
 *  - concurrency: at most `concurrency` HTTP requests in flight across all users (a FIFO semaphore);
 *  - timeouts per request; bounded retries (our own loop, SDK retries off, so each one is counted and
 *    reported) with exponential backoff + seeded jitter on 408/409/429/5xx, timeouts and connection
 *    errors, honouring `retry-after-ms` / `retry-after` (capped);
 *  - token and cost accounting per run; an on-disk response cache keyed by the full request body.
 * The API key comes from the caller (env FLOWLOOP_LLM_API_KEY or OPENAI_API_KEY, set by the extension from
 * its secret store); it is passed to the SDK only and never stored, logged or put in errors.
 */
import { setMaxListeners } from 'node:events';
import OpenAI from 'openai';
import { Rng } from '../../util/random';
import { ResponseCache, requestKey } from './cache';
import type { AflConfig } from '../../experiment/configTypes';

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

/** The `llm` block of an AFL config as the schema declares it (core/experiment/configTypes.ts, generated). */
type ConfigLlm = AflConfig['llm'];

/**
 * What the client needs: the schema's endpoint and retry fields (their docs live in schema/afl.json), the
 * resolved cache folder (`cache`/`cacheDir` → a folder, or null for no cache) and two knobs tests turn down.
 */
export type LlmSettings = Pick<ConfigLlm, 'baseURL' | 'model' | 'temperature' | 'maxTokens' | 'concurrency' | 'timeoutMs' | 'maxRetries'>
  & Partial<Pick<ConfigLlm, 'costPer1kTokens'>>
  & {
    /** Cache folder, or null for no cache. */
    cacheDir: string | null;
    /** Largest wait honoured from a retry-after header (ms). */
    maxRetryAfterMs?: number;
    /** First backoff delay (ms); doubles per retry up to 8 s. */
    backoffBaseMs?: number;
  };

export interface ChatResult {
  ok: boolean;
  text: string;
  fromCache: boolean;
  /** HTTP requests this call made (0 when served from the cache). */
  httpCalls: number;
  retries: number;
  /** Every failed attempt ("HTTP 429 …", "timeout after 2000 ms", ...). */
  errors: string[];
  promptTokens: number;
  completionTokens: number;
}

export interface LlmStats {
  calls: number;
  httpCalls: number;
  cacheHits: number;
  retries: number;
  httpErrors: number;
  failedCalls: number;
  promptTokens: number;
  completionTokens: number;
  /** Tokens of responses served from the cache (not billed in this run). */
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
  costUsd: number;
  maxInFlight: number;
}

/** The API key from the environment: FLOWLOOP_LLM_API_KEY, else OPENAI_API_KEY. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.FLOWLOOP_LLM_API_KEY || env.OPENAI_API_KEY || undefined;
}

/** FIFO counting semaphore. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  maxActive = 0;
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`concurrency must be >= 1, got ${limit}`);
  }
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      return;
    }
    await new Promise<void>((res) => this.waiters.push(res));
    // the releaser handed its slot over: active unchanged
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((res) => {
  if (signal?.aborted) return res();
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); res(); }, ms);
  const onAbort = () => { clearTimeout(t); res(); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

/** Milliseconds a response asks us to wait (retry-after-ms, retry-after seconds or HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && !Number.isNaN(parseFloat(ms))) return Math.max(0, parseFloat(ms));
  const ra = headers.get('retry-after');
  if (!ra) return undefined;
  const s = parseFloat(ra);
  if (!Number.isNaN(s)) return Math.max(0, s * 1000);
  const d = Date.parse(ra);
  return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now());
}

const raisedSignals = new WeakSet<AbortSignal>();

export class LlmClient {
  private readonly sdk: OpenAI;
  private readonly sem: Semaphore;
  private readonly cache: ResponseCache | null;
  private readonly rng: Rng;
  readonly stats: LlmStats = {
    calls: 0, httpCalls: 0, cacheHits: 0, retries: 0, httpErrors: 0, failedCalls: 0,
    promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, cachedCompletionTokens: 0, costUsd: 0, maxInFlight: 0,
  };

  /** Error texts may echo the key (e.g. a 401 body): the key and anything shaped like one are masked. */
  private readonly redact: (s: string) => string;

  constructor(readonly settings: LlmSettings, apiKey: string | undefined, seed = 0) {
    this.redact = (s) => (apiKey ? s.split(apiKey).join('***') : s).replace(/\b(sk-[A-Za-z0-9_*-]{2})[A-Za-z0-9_*-]{6,}/g, '$1***');
    // Local servers (vLLM, Ollama) ignore the key; the SDK still wants a non-empty string.
    this.sdk = new OpenAI({ apiKey: apiKey ?? 'no-key', baseURL: settings.baseURL, maxRetries: 0, timeout: settings.timeoutMs });
    this.sem = new Semaphore(settings.concurrency);
    this.cache = settings.cacheDir ? new ResponseCache(settings.cacheDir) : null;
    this.rng = new Rng(seed ^ 0x11a7);
  }

  /** The request body sent (and hashed for the cache). `attempt` separates parse retries in the cache. */
  requestBody(messages: ChatMessage[], attempt: number): Record<string, unknown> {
    const body: Record<string, unknown> = { model: this.settings.model, messages, temperature: this.settings.temperature };
    if (this.settings.maxTokens !== undefined) body.max_tokens = this.settings.maxTokens;
    return { ...body, flowloop_attempt: attempt };
  }

  /**
   * One chat completion (served from the cache when present). Never throws for HTTP problems: a call
   * that still fails after `maxRetries` retries returns ok=false with every error listed.
   */
  async chat(messages: ChatMessage[], opts: { attempt?: number; signal?: AbortSignal } = {}): Promise<ChatResult> {
    const attempt = opts.attempt ?? 0;
    // The run's signal gets one (removed) listener per waiting or in-flight call: many at once is expected.
    if (opts.signal && !raisedSignals.has(opts.signal)) { setMaxListeners(0, opts.signal); raisedSignals.add(opts.signal); }
    const keyed = this.requestBody(messages, attempt);
    const { flowloop_attempt: _a, ...body } = keyed;
    const key = requestKey(keyed);
    this.stats.calls++;
    const res: ChatResult = { ok: false, text: '', fromCache: false, httpCalls: 0, retries: 0, errors: [], promptTokens: 0, completionTokens: 0 };
    const hit = this.cache?.get(key);
    if (hit) {
      this.stats.cacheHits++;
      this.stats.cachedPromptTokens += hit.promptTokens;
      this.stats.cachedCompletionTokens += hit.completionTokens;
      return { ...res, ok: true, text: hit.text, fromCache: true, promptTokens: hit.promptTokens, completionTokens: hit.completionTokens };
    }
    const base = this.settings.backoffBaseMs ?? 500;
    for (let tryNo = 0; tryNo <= this.settings.maxRetries; tryNo++) {
      if (opts.signal?.aborted) { res.errors.push('cancelled'); break; }
      if (tryNo > 0) { res.retries++; this.stats.retries++; }
      let waitMs: number | undefined;
      await this.sem.acquire();
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.sem.maxActive);
      if (opts.signal?.aborted) { this.sem.release(); res.errors.push('cancelled'); break; }
      try {
        res.httpCalls++;
        this.stats.httpCalls++;
        const started = Date.now();
        // A per-request signal linked to the run's: the SDK leaves a listener on the signal it is given,
        // so it never sees the long-lived run signal itself.
        const link = new AbortController();
        const onAbort = () => link.abort(opts.signal?.reason);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        let completion: OpenAI.Chat.Completions.ChatCompletion;
        try {
          completion = await this.sdk.chat.completions.create(body as any, { signal: link.signal, timeout: this.settings.timeoutMs, maxRetries: 0 });
        } finally {
          opts.signal?.removeEventListener('abort', onAbort);
        }
        const text = completion.choices?.[0]?.message?.content;
        if (typeof text !== 'string') {
          res.errors.push(`attempt ${tryNo + 1}: reply without message content (${Date.now() - started} ms)`);
          this.stats.httpErrors++;
        } else {
          const pt = completion.usage?.prompt_tokens ?? 0;
          const ct = completion.usage?.completion_tokens ?? 0;
          res.ok = true;
          res.text = text;
          res.promptTokens = pt;
          res.completionTokens = ct;
          this.stats.promptTokens += pt;
          this.stats.completionTokens += ct;
          const price = this.settings.costPer1kTokens;
          if (price) this.stats.costUsd += (pt * price.input + ct * price.output) / 1000;
          this.cache?.set(key, keyed, { text, promptTokens: pt, completionTokens: ct, model: completion.model });
          return res;
        }
      } catch (e) {
        this.stats.httpErrors++;
        const { message, retryable, headers } = describeError(e, this.settings.timeoutMs);
        res.errors.push(`attempt ${tryNo + 1}: ${this.redact(message)}`);
        if (!retryable) break;
        waitMs = retryAfterMs(headers);
      } finally {
        this.sem.release();
      }
      if (tryNo < this.settings.maxRetries) {
        const backoff = Math.min(base * 2 ** tryNo, 8000) * (1 - 0.25 * this.rng.next());
        const wait = waitMs !== undefined ? Math.min(waitMs, this.settings.maxRetryAfterMs ?? 60000) : backoff;
        await sleep(wait, opts.signal);
      }
    }
    this.stats.failedCalls++;
    return res;
  }
}

/** A short, key-free description of an SDK error and whether it is worth retrying. */
function describeError(e: unknown, timeoutMs: number): { message: string; retryable: boolean; headers?: Headers } {
  if (e instanceof OpenAI.APIConnectionTimeoutError) return { message: `timeout after ${timeoutMs} ms`, retryable: true };
  if (e instanceof OpenAI.APIUserAbortError) return { message: 'cancelled', retryable: false };
  if (e instanceof OpenAI.APIConnectionError) return { message: `connection error: ${e.message}`, retryable: true };
  if (e instanceof OpenAI.APIError) {
    const status = e.status;
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    const msg = (e.message || '').replace(/\s+/g, ' ').slice(0, 200);
    return { message: `HTTP ${status ?? '?'}: ${msg}`, retryable, headers: e.headers };
  }
  return { message: `error: ${(e as Error)?.message ?? String(e)}`, retryable: false };
}
