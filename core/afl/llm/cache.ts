/**
 * On-disk LLM response cache (docs/methods.md §B2): one JSON file per request, keyed by the SHA-256 of
 * what the client hands it (LlmClient.cacheKeyOf: the endpoint URL, the full request body with every
 * sampling parameter and extra field, the parse-retry attempt, and the run's seed at temperature > 0),
 * so a rerun or a resumed run makes no repeated calls and nothing else is replayed. The API key is never
 * part of it and never written.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CachedResponse {
  text: string;
  promptTokens: number;
  completionTokens: number;
  model?: string;
}

/** Stable JSON (sorted keys) so equal requests hash equally. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

export function requestKey(request: Record<string, unknown>): string {
  return createHash('sha256').update(stableStringify(request)).digest('hex');
}

let tmpCounter = 0;

export class ResponseCache {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): CachedResponse | undefined {
    try {
      const o = JSON.parse(readFileSync(this.path(key), 'utf8'));
      if (typeof o?.response?.text !== 'string') return undefined;
      return o.response as CachedResponse;
    } catch {
      return undefined;
    }
  }

  /** Atomic write (temp + rename); the request is stored beside the response for people to read. */
  set(key: string, request: Record<string, unknown>, response: CachedResponse): void {
    const p = this.path(key);
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${p}.${process.pid}.${++tmpCounter}.tmp`;
    writeFileSync(tmp, JSON.stringify({ key, request, response, savedAt: new Date().toISOString() }, null, 1));
    renameSync(tmp, p);
  }
}
