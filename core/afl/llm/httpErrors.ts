/**
 * What a failed call to an OpenAI-compatible endpoint means for the AFL loop (docs/methods.md §B2 "fail fast"):
 * a short key-free description, whether another try may help (408/409/429/5xx, timeouts, connection errors, a reply
 * that is not JSON), how long the server asks us to wait, and the failures no retry can mend (EndpointError).
 */
import OpenAI from 'openai';

/**
 * A failure that no retry or later call can mend (an endpoint that cannot be reached, a refused key, an
 * unknown model): the run stops at once with this cause instead of scoring every user a miss.
 */
export class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

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

/** A short, key-free description of an SDK error, whether it is worth retrying, and whether it is fatal to the run. */
export function describeError(e: unknown, timeoutMs: number): { message: string; retryable: boolean; headers?: Headers; fatal?: string } {
  if (e instanceof OpenAI.APIConnectionTimeoutError) return { message: `timeout after ${timeoutMs} ms`, retryable: true };
  if (e instanceof OpenAI.APIUserAbortError) return { message: 'cancelled', retryable: false };
  if (e instanceof OpenAI.APIConnectionError) {
    // the cause chain: APIConnectionError <- TypeError "fetch failed" <- the socket's error (code) or "bad port"
    let why = e.message;
    for (
      let c = (e as { cause?: unknown }).cause as { code?: string; message?: string; cause?: unknown } | undefined;
      c;
      c = c.cause as typeof c
    ) {
      why = c.code === 'ECONNREFUSED' ? 'connection refused' : (c.code ?? c.message ?? why);
    }
    return { message: `connection error: ${why}`, retryable: true };
  }
  if (e instanceof OpenAI.APIError) {
    const status = e.status;
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    const msg = (e.message || '').replace(/\s+/g, ' ').slice(0, 200);
    const fatal =
      status === 401 || status === 403
        ? `the endpoint refused the API key (HTTP ${status}: ${msg})`
        : status === 404 && /model/i.test(msg)
          ? `the endpoint does not know the model (HTTP 404: ${msg})`
          : undefined;
    return { message: `HTTP ${status ?? '?'}: ${msg}`, retryable, headers: e.headers, fatal };
  }
  // A body that is not JSON although labelled so (a proxy's error page): another try may get the real reply.
  if (e instanceof SyntaxError) return { message: `a reply that is not JSON: ${e.message.slice(0, 120)}`, retryable: true };
  return { message: `error: ${(e as Error)?.message ?? String(e)}`, retryable: false };
}
