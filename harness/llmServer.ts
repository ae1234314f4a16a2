/**
 * A local OpenAI-compatible chat-completions server for the AFL tests and benchmark: real HTTP on
 * 127.0.0.1 (random port), replying from a script. It counts requests and the largest number of
 * simultaneous requests, so tests can check retries, the concurrency limit and the cache.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  [k: string]: unknown;
}

export interface ScriptedReply {
  /** Assistant message content (default ''). */
  content?: string;
  /** HTTP status (default 200). Non-200 replies send an OpenAI-style error body. */
  status?: number;
  headers?: Record<string, string>;
  /** Wait before replying (ms). */
  delayMs?: number;
  /** Send this raw body instead of a chat completion (e.g. invalid JSON). */
  raw?: string;
  /** Never reply (the client must time out). */
  hang?: boolean;
  /** Send the 200 headers and the first half of the body, then stall forever (the SDK's own timer has stopped by then). */
  stallBody?: boolean;
}

export interface ServerOptions {
  /** Models listed by `GET /v1/models`; undefined = the route answers 404 (a server that does not offer it). */
  models?: string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get an OpenAI-style 401. */
  apiKey?: string;
}

/** `n` = 0-based index of this request among all requests the server received. */
export type Script = (req: ChatRequest, n: number) => ScriptedReply | Promise<ScriptedReply>;

export interface TestServer {
  /** Base URL for the SDK (`http://127.0.0.1:<port>/v1`). */
  url: string;
  /** Requests received so far. */
  readonly calls: number;
  /** Largest number of requests in flight at once. */
  readonly maxConcurrent: number;
  /** TCP connections accepted (keep-alive reuse keeps this near the concurrency). */
  readonly connections: number;
  readonly requests: ChatRequest[];
  /** Authorization headers seen (tests check the key is sent, and nothing else leaks). */
  readonly authHeaders: string[];
  /** `GET /v1/models` requests answered. */
  readonly modelListings: number;
  resetCounters(): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startServer(script: Script, options: ServerOptions = {}): Promise<TestServer> {
  let calls = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  const requests: ChatRequest[] = [];
  const authHeaders: string[] = [];
  let modelListings = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      return;
    }
    if (req.method === 'GET' && req.url?.endsWith('/models') && options.models) {
      modelListings++;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ object: 'list', data: options.models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) }));
      return;
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const n = calls++;
    inFlight++;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    let finished = false;
    const done = () => {
      if (!finished) {
        finished = true;
        inFlight--;
      }
    };
    res.on('close', done);
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      requests.push(body);
      authHeaders.push(String(req.headers.authorization ?? ''));
      const r = await script(body, n);
      if (r.delayMs) await sleep(r.delayMs);
      // The client times out and abandons it (close() destroys the socket). Not counted as in flight from
      // here: the client has let go of it by then, only its socket may linger a moment.
      if (r.hang) {
        done();
        return;
      }
      if (res.destroyed) return;
      const status = r.status ?? 200;
      const headers = { 'content-type': 'application/json', ...(r.headers ?? {}) };
      if (r.raw !== undefined) {
        res.writeHead(status, headers).end(r.raw);
        done();
        return;
      }
      if (status !== 200) {
        res.writeHead(status, headers).end(JSON.stringify({ error: { message: `scripted ${status}`, type: 'test', code: null } }));
        done();
        return;
      }
      const content = r.content ?? '';
      const promptTokens = body.messages.reduce((a, m) => a + Math.ceil(m.content.length / 4), 0);
      const completionTokens = Math.ceil(content.length / 4);
      if (r.stallBody) {
        const full = JSON.stringify({
          id: `chatcmpl-test-${n}`,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        });
        res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(full)) });
        res.write(full.slice(0, Math.floor(full.length / 2)));
        done(); // the client abandons it; close() destroys the socket
        return;
      }
      res.writeHead(200, headers).end(
        JSON.stringify({
          id: `chatcmpl-test-${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        }),
      );
      done();
    } catch (e) {
      if (!res.headersSent)
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: `test server: ${(e as Error).message}` } }));
      done();
    }
  });
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get calls() {
      return calls;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    get connections() {
      return connections;
    },
    get modelListings() {
      return modelListings;
    },
    requests,
    authHeaders,
    resetCounters() {
      calls = 0;
      maxConcurrent = 0;
      requests.length = 0;
      authHeaders.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Runs `fn` against a fresh server answering with `script`, and closes the server whatever `fn` does. */
export async function withServer(script: Script, fn: (s: TestServer) => Promise<void>, options?: ServerOptions): Promise<void> {
  const s = await startServer(script, options);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** The `Reason/Item` reply format. */
export const recReply = (item: string, reason = 'it fits the listening history.') => `Reason: ${reason}\nItem: ${item}`;
/** The `Reason/Decision` reply format. */
export const userReply = (yes: boolean, reason = 'it matches my taste.') => `Reason: ${reason}\nDecision: ${yes ? 'yes' : 'no'}`;

/** Which agent a request is for (by the output format the prompt asks for). */
export function agentOf(req: ChatRequest): 'rec' | 'user' {
  return /Item: <item example>/.test(promptText(req)) ? 'rec' : 'user';
}

/** Text of all messages of a request. */
export function promptText(req: ChatRequest): string {
  return req.messages.map((m) => m.content).join('\n');
}

/** A plain scripted LLM: the rec agent picks the first candidate of the list, the user agent always says no. */
export const plainScript: Script = (req) =>
  agentOf(req) === 'rec'
    ? { content: recReply(/candidate list of \d+ music artists is: ([^,]*),/.exec(promptText(req))?.[1] ?? 'X') }
    : { content: userReply(false) };
