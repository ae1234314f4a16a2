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
import { CancelledError } from '../../experiment/context';
import { ResponseCache, requestKey } from './cache';
import type { Budget } from './budget';
import { describeError, EndpointError, retryAfterMs } from './httpErrors';
import { Semaphore } from './semaphore';
import type { AflConfig } from '../../experiment/configTypes';

export { Budget } from './budget';
export { EndpointError } from './httpErrors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The `llm` block of an AFL config as the schema declares it (core/experiment/configTypes.ts, generated). */
type ConfigLlm = AflConfig['llm'];

/**
 * What one client needs (one agent's endpoint): the schema's endpoint, sampling and retry fields (their
 * docs live in schema/afl.json), the resolved price, the resolved cache folder (null = no cache) and two
 * knobs tests turn down.
 */
export type LlmSettings = Pick<ConfigLlm, 'model' | 'temperature' | 'concurrency' | 'timeoutMs' | 'maxRetries'> &
  Partial<Pick<ConfigLlm, 'baseURL' | 'topP' | 'maxTokens' | 'seed' | 'stop' | 'extraBody' | 'costPer1kTokens'>> & {
    /** Cache folder, or null for no cache. */
    cacheDir: string | null;
    /** Largest wait honoured from a retry-after header (ms). */
    maxRetryAfterMs?: number;
    /** First backoff delay (ms); doubles per retry up to 8 s. */
    backoffBaseMs?: number;
  };

export interface ChatResult {
  ok: boolean;
  /** Cut by the run's cancel (or the budget): not a failure of the endpoint, not counted as one. */
  cancelled: boolean;
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
  /** Calls cut by a cancel or the budget (not failures). */
  cancelledCalls: number;
}

/** Extra request shaping of one call: a parse retry's seed offset (`vary-seed`). */
export interface ChatOptions {
  /** Parse-retry attempt (0 = first); part of the cache key. */
  attempt?: number;
  signal?: AbortSignal;
  /** Added to the request's seed (the run seed when llm.seed is unset): `parseRetry: "vary-seed"`. */
  seedOffset?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    if (signal?.aborted) return res();
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      res();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const raisedSignals = new WeakSet<AbortSignal>();

export class LlmClient {
  private readonly sdk: OpenAI;
  private readonly sem: Semaphore;
  private readonly cache: ResponseCache | null;
  private readonly rng: Rng;
  readonly stats: LlmStats = {
    calls: 0,
    httpCalls: 0,
    cacheHits: 0,
    retries: 0,
    httpErrors: 0,
    failedCalls: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    cachedCompletionTokens: 0,
    costUsd: 0,
    maxInFlight: 0,
    cancelledCalls: 0,
  };
  /** The endpoint as the SDK resolves it (part of the cache key). */
  readonly endpoint: string;
  /** Set on the first failure no retry can mend (see EndpointError); the experiment stops the run with it. */
  fatal: EndpointError | null = null;

  /** Error texts may echo the key (e.g. a 401 body): the key and anything shaped like one are masked. */
  private readonly redact: (s: string) => string;

  /**
   * `seed` = the run's seed: in the cache key at temperature > 0 (so `sweep.repeat` samples afresh) and the
   * base of `vary-seed` parse retries. `budget` is shared by the run's clients; `onFatal` hears an EndpointError.
   */
  constructor(
    readonly settings: LlmSettings,
    apiKey: string | undefined,
    private readonly seed = 0,
    private readonly budget?: Budget,
    private readonly onFatal?: (e: EndpointError) => void,
  ) {
    this.redact = (s) => (apiKey ? s.split(apiKey).join('***') : s).replace(/\b(sk-[A-Za-z0-9_*-]{2})[A-Za-z0-9_*-]{6,}/g, '$1***');
    // Local servers (vLLM, Ollama) ignore the key; the SDK still wants a non-empty string.
    this.sdk = new OpenAI({ apiKey: apiKey ?? 'no-key', baseURL: settings.baseURL, maxRetries: 0, timeout: settings.timeoutMs });
    this.sem = new Semaphore(settings.concurrency);
    this.cache = settings.cacheDir ? new ResponseCache(settings.cacheDir) : null;
    this.rng = new Rng(seed ^ 0x11a7);
    this.endpoint = this.sdk.baseURL.replace(/\/+$/, '');
  }

  /**
   * The request body sent: model, messages and every sampling parameter set (extra body fields first, so
   * they cannot override these). `seedOffset` varies the seed of a `vary-seed` parse retry.
   */
  requestBody(messages: ChatMessage[], seedOffset = 0): Record<string, unknown> {
    const s = this.settings;
    const body: Record<string, unknown> = { ...(s.extraBody ?? {}), model: s.model, messages, temperature: s.temperature };
    if (s.topP !== undefined) body.top_p = s.topP;
    if (s.maxTokens !== undefined) body.max_tokens = s.maxTokens;
    if (s.stop !== undefined) body.stop = s.stop;
    if (s.seed !== undefined || seedOffset !== 0) body.seed = (s.seed ?? this.seed) + seedOffset;
    return body;
  }

  /**
   * The cache key's input: the endpoint, the full body, the parse-retry attempt and, when sampling
   * (temperature > 0), the run's seed, so a repeat with another seed is never replayed from the cache.
   */
  cacheKeyOf(body: Record<string, unknown>, attempt: number): Record<string, unknown> {
    return { endpoint: this.endpoint, body, attempt, ...(this.settings.temperature > 0 ? { runSeed: this.seed } : {}) };
  }

  /**
   * One chat completion (served from the cache when present). Never throws for HTTP problems: a call
   * that still fails after `maxRetries` retries returns ok=false with every error listed. Each attempt has
   * a deadline of `timeoutMs` over the whole exchange (a body that stalls after the headers included).
   */
  async chat(messages: ChatMessage[], opts: ChatOptions = {}): Promise<ChatResult> {
    const attempt = opts.attempt ?? 0;
    // The run's signal gets one (removed) listener per waiting or in-flight call: many at once is expected.
    if (opts.signal && !raisedSignals.has(opts.signal)) {
      setMaxListeners(0, opts.signal);
      raisedSignals.add(opts.signal);
    }
    const body = this.requestBody(messages, opts.seedOffset ?? 0);
    const keyed = this.cacheKeyOf(body, attempt);
    const key = requestKey(keyed);
    this.stats.calls++;
    const res: ChatResult = {
      ok: false,
      cancelled: false,
      text: '',
      fromCache: false,
      httpCalls: 0,
      retries: 0,
      errors: [],
      promptTokens: 0,
      completionTokens: 0,
    };
    const hit = this.cache?.get(key);
    if (hit) {
      this.stats.cacheHits++;
      this.stats.cachedPromptTokens += hit.promptTokens;
      this.stats.cachedCompletionTokens += hit.completionTokens;
      return { ...res, ok: true, text: hit.text, fromCache: true, promptTokens: hit.promptTokens, completionTokens: hit.completionTokens };
    }
    const cancelled = (why = 'cancelled') => {
      res.errors.push(why);
      res.cancelled = true;
      this.stats.cancelledCalls++;
      return res;
    };
    const base = this.settings.backoffBaseMs ?? 500;
    const timeoutMs = this.settings.timeoutMs;
    for (let tryNo = 0; tryNo <= this.settings.maxRetries; tryNo++) {
      if (opts.signal?.aborted || this.fatal) return cancelled();
      if (tryNo > 0) {
        res.retries++;
        this.stats.retries++;
      }
      let waitMs: number | undefined;
      await this.sem.acquire();
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.sem.maxActive);
      if (opts.signal?.aborted || this.fatal) {
        this.sem.release();
        return cancelled();
      }
      if (this.budget && !this.budget.take()) {
        this.sem.release();
        return cancelled(`budget: ${this.budget.exhausted}`);
      }
      // A per-attempt signal linked to the run's and to our own deadline: the SDK's timer stops once the
      // headers arrive, ours covers reading the body too. (The SDK also never sees the long-lived run signal.)
      const link = new AbortController();
      let deadlineHit = false;
      const onAbort = () => link.abort(opts.signal?.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const deadline = setTimeout(() => {
        deadlineHit = true;
        link.abort(new Error(`deadline ${timeoutMs} ms`));
      }, timeoutMs);
      const started = Date.now();
      try {
        res.httpCalls++;
        this.stats.httpCalls++;
        const completion = (await this.sdk.chat.completions.create(
          body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
          { signal: link.signal, timeout: timeoutMs, maxRetries: 0 },
        )) as unknown;
        const text = (completion as OpenAI.Chat.Completions.ChatCompletion)?.choices?.[0]?.message?.content;
        if (typeof text !== 'string') {
          // e.g. a proxy's HTML page with status 200: worth another try
          const what =
            typeof completion === 'string'
              ? `a reply that is not JSON (${JSON.stringify(completion.slice(0, 60))}…)`
              : 'a reply without message content';
          res.errors.push(`attempt ${tryNo + 1}: ${what} (${Date.now() - started} ms)`);
          this.stats.httpErrors++;
        } else {
          const c = completion as OpenAI.Chat.Completions.ChatCompletion;
          const pt = c.usage?.prompt_tokens ?? 0;
          const ct = c.usage?.completion_tokens ?? 0;
          res.ok = true;
          res.text = text;
          res.promptTokens = pt;
          res.completionTokens = ct;
          this.stats.promptTokens += pt;
          this.stats.completionTokens += ct;
          const price = this.settings.costPer1kTokens;
          if (price) {
            const cost = (pt * price.input + ct * price.output) / 1000;
            this.stats.costUsd += cost;
            if (this.budget) this.budget.costUsd += cost;
          }
          this.cache?.set(key, keyed, { text, promptTokens: pt, completionTokens: ct, model: c.model });
          return res;
        }
      } catch (e) {
        if (opts.signal?.aborted && !deadlineHit) return cancelled();
        this.stats.httpErrors++;
        const d = deadlineHit
          ? { message: `timeout after ${timeoutMs} ms (deadline over the whole exchange)`, retryable: true }
          : describeError(e, timeoutMs);
        res.errors.push(`attempt ${tryNo + 1}: ${this.redact(d.message)}`);
        if (d.fatal) this.raiseFatal(this.redact(d.fatal));
        if (!d.retryable) break;
        waitMs = retryAfterMs(d.headers);
      } finally {
        clearTimeout(deadline);
        opts.signal?.removeEventListener('abort', onAbort);
        this.sem.release();
      }
      if (tryNo < this.settings.maxRetries) {
        const backoff = Math.min(base * 2 ** tryNo, 8000) * (1 - 0.25 * this.rng.next());
        const wait = waitMs !== undefined ? Math.min(waitMs, this.settings.maxRetryAfterMs ?? 60000) : backoff;
        await sleep(wait, opts.signal);
      }
    }
    if (opts.signal?.aborted) return cancelled();
    this.stats.failedCalls++;
    const last = res.errors[res.errors.length - 1] ?? '';
    // Still no connection after every retry: nothing answers there.
    if (/: connection error: /.test(last)) this.raiseFatal(`cannot reach ${this.endpoint}: ${last.replace(/^attempt \d+: /, '')}`);
    return res;
  }

  private raiseFatal(message: string): void {
    if (this.fatal) return;
    this.fatal = new EndpointError(message);
    this.onFatal?.(this.fatal);
  }

  /**
   * Before the first user: `GET /models` (docs/methods.md §B2 "fail fast"). Unreachable endpoint, refused
   * key or a model the server does not list -> EndpointError; a server without the route (404, or a reply
   * that is not a model list) is used as is. Returns what was checked, for the run's log.
   */
  async checkModel(signal?: AbortSignal): Promise<string> {
    const ms = Math.min(this.settings.timeoutMs, 10000);
    const link = new AbortController();
    const onAbort = () => link.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const t = setTimeout(() => link.abort(new Error('deadline')), ms);
    try {
      const ids: string[] = [];
      for await (const m of this.sdk.models.list({ signal: link.signal, timeout: ms, maxRetries: 0 })) ids.push(m.id);
      if (ids.length > 0 && !ids.includes(this.settings.model)) {
        throw new EndpointError(
          `${this.endpoint} does not offer model "${this.settings.model}" (it lists ${ids
            .slice(0, 8)
            .map((i) => `"${i}"`)
            .join(', ')}${ids.length > 8 ? ` and ${ids.length - 8} more` : ''})`,
        );
      }
      return ids.length ? `${this.endpoint} offers model "${this.settings.model}"` : `${this.endpoint} lists no models: not checked`;
    } catch (e) {
      if (e instanceof EndpointError) throw e;
      if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
      if (link.signal.aborted) throw new EndpointError(`cannot reach ${this.endpoint}: no answer to GET /models within ${ms} ms`);
      const d = describeError(e, ms);
      if (e instanceof OpenAI.APIConnectionError) throw new EndpointError(`cannot reach ${this.endpoint}: ${this.redact(d.message)}`);
      if (d.fatal && (e as { status?: number }).status !== 404) throw new EndpointError(this.redact(d.fatal));
      return `${this.endpoint} has no usable GET /models (${this.redact(d.message)}): model not checked`;
    } finally {
      clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
