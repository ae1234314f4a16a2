import Ajv, { type AnySchemaObject, type ErrorObject } from 'ajv';
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildSchema } from './schema';
import { SEMANTIC_CHECKS } from './checks';
import type { FlowloopConfig } from './configTypes';
import type { ConfigObject } from './events';
import { errorCode, errorMessage } from '../util/errors';
import { lineColAt } from '../util/textPosition';

/** One located problem in a config: `file:line:col` + JSON path + message. */
export interface ConfigIssue {
  message: string;
  /** JSON path of the offending value, e.g. "/flower/theta" ("" = the whole document). */
  path: string;
  /** 1-based line and column. */
  line: number;
  col: number;
  /** 0-based offset and length in the text (for editor ranges). */
  offset: number;
  length: number;
}

export interface ValidationResult {
  /** The config with schema defaults filled in (only when there are no errors). */
  config?: FlowloopConfig;
  errors: ConfigIssue[];
}

/** Configs larger than this are refused before parsing (a config is a few KB; 1 MB means a wrong file). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

let compiled: ReturnType<Ajv['compile']> | undefined;
let pathFields: { path: string; kind: 'file' | 'dir' | 'any'; value: string }[] = [];

function validator() {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, verbose: true });
  // Schema annotation for fields naming a file or folder: recorded during validation, checked afterwards.
  ajv.addKeyword({
    keyword: 'x-flowloop-path',
    schemaType: 'string',
    validate: (kind: 'file' | 'dir' | 'any', data: unknown, parent: AnySchemaObject | undefined, cxt?: { instancePath: string }) => {
      const except = (parent?.['x-flowloop-path-except'] as string[] | undefined) ?? [];
      if (typeof data === 'string' && cxt && !except.includes(data)) pathFields.push({ path: cxt.instancePath, kind, value: data });
      return true;
    },
  });
  compiled = ajv.compile(buildSchema());
  return compiled;
}

/** One field of an ajv error's params (their shape depends on the keyword). */
function param(e: ErrorObject, name: string): unknown {
  return (e.params as Record<string, unknown>)[name];
}

function issueAt(text: string, offset: number, length: number, path: string, message: string): ConfigIssue {
  const { line, col } = lineColAt(text, offset);
  return { message, path, line, col, offset, length };
}

function pointerToSegments(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The node of a JSON pointer, or its nearest existing ancestor. */
function nodeFor(root: Node, pointer: string): Node {
  const segs = pointerToSegments(pointer);
  for (let n = segs.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, segs.slice(0, n));
    if (node) return node;
  }
  return root;
}

function keyNode(root: Node, pointer: string, key: string): Node | undefined {
  const obj = nodeFor(root, pointer);
  if (obj.type !== 'object') return undefined;
  const prop = obj.children?.find((p) => p.children?.[0]?.value === key);
  return prop?.children?.[0];
}

/** Human message for one ajv error (the schema's own words where it has them). */
function describe(e: ErrorObject): string {
  const at = e.instancePath ? `"${e.instancePath.slice(1).replace(/\//g, '.')}"` : 'the config';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(param(e, 'additionalProperty'));
      const near = closestKey(key, Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {}));
      return `unknown key "${key}" in ${at}${near ? ` — did you mean "${near}"?` : ''}`;
    }
    case 'required':
      return `missing required key "${param(e, 'missingProperty')}" in ${at}`;
    case 'enum':
      return `${at} must be one of ${(param(e, 'allowedValues') as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `${at} must be ${param(e, 'type')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${at} ${e.message} (out of range)`;
    case 'oneOf':
      return `${at} must have exactly one of the alternatives (${e.message})`;
    default:
      return `${at} ${e.message}`;
  }
}

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The allowed key a misspelt one most likely meant (same letters ignoring case, or ≤ 1 edit per 4 letters, at most 3). */
export function closestKey(key: string, allowed: string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = allowed.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined,
    bestD = Math.min(3, Math.max(1, Math.floor(key.length / 4)));
  for (const k of allowed) {
    const dd = distance(lower, k.toLowerCase());
    if (dd <= bestD && (!best || dd < bestD)) {
      best = k;
      bestD = dd;
    }
  }
  return best;
}

/** Decode bytes as UTF-8, or report the first invalid byte with its line/col. */
export function decodeUtf8(bytes: Uint8Array): { text?: string; badOffset?: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    // find the first byte that does not start a valid sequence
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      const n = b < 0x80 ? 1 : b >> 5 === 6 ? 2 : b >> 4 === 14 ? 3 : b >> 3 === 30 ? 4 : 0;
      if (n === 0) return { badOffset: i };
      for (let k = 1; k < n; k++) if (i + k >= bytes.length || bytes[i + k] >> 6 !== 2) return { badOffset: i };
      i += n;
    }
    return { badOffset: bytes.length };
  }
}

/**
 * Validate a config's text: JSON syntax, the one schema (ajv, defaults filled), path existence
 * (fields marked `x-flowloop-path`, relative to the config's folder), then the kind's semantic checks.
 * Used by the CLI (`flowloop validate`, `flowloop run`), the worker and the extension's diagnostics.
 */
export function validateConfigText(text: string, filePath: string): ValidationResult {
  if (text.trim() === '')
    return { errors: [issueAt(text, 0, 0, '', 'the file is empty: a Flowloop config is a JSON object with at least "kind"')] };
  const parseErrors: ParseError[] = [];
  let root = parseTree(text, parseErrors, { disallowComments: true, allowTrailingComma: false });
  const out: ConfigIssue[] = [];
  if (parseErrors.length || !root) {
    // one issue per place (a stray comma makes the parser report "property name expected" and "value expected" at the same offset)
    const atOffset = new Set<number>();
    for (const e of parseErrors.slice(0, 10)) {
      if (atOffset.has(e.offset)) continue;
      atOffset.add(e.offset);
      out.push(
        isTrailingComma(text, e)
          ? issueAt(text, commaBefore(text, e.offset), 1, '', 'invalid JSON: a comma before the closing bracket (remove it)')
          : issueAt(text, e.offset, e.length, '', `invalid JSON: ${printParseErrorCode(e.error)}`),
      );
    }
    // a stray comma is the only syntax problem: the rest of the file is still checked, so every problem shows at once
    const lenient: ParseError[] = [];
    root = parseTree(text, lenient, { disallowComments: true, allowTrailingComma: true });
    if (lenient.length || !root) return { errors: out };
  }
  if (root.type !== 'object')
    return { errors: [issueAt(text, root.offset, root.length, '', `a config must be a JSON object, not ${root.type}`)] };
  out.push(
    ...duplicateKeys(root).map((k) =>
      issueAt(text, k.offset, k.length, '', `duplicate key "${k.value}" (JSON keeps only the last one; remove one)`),
    ),
  );
  const config = getNodeValue(root) as ConfigObject;
  const schema = schemaIssues(config, text, root);
  out.push(...schema);
  // paths the schema could read are checked even when other values are wrong; the kind's checks need a schema-valid config
  const semantic = semanticIssues(config as unknown as FlowloopConfig, dirname(resolve(filePath)), schema.length === 0).map((s) => {
    const node = nodeFor(root!, s.path);
    return issueAt(text, node.offset, node.length, s.path, s.message);
  });
  out.push(...semantic);
  if (out.length) return { errors: out.sort((a, b) => a.offset - b.offset) };
  return { config: config as unknown as FlowloopConfig, errors: [] }; // schema-valid, defaults filled in by ajv
}

/** Offset of the last non-blank character before `offset`. */
function commaBefore(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i])) i--;
  return i;
}

/** A parse error right before a closing bracket whose previous non-blank character is a comma. */
function isTrailingComma(text: string, e: ParseError): boolean {
  return text[commaBefore(text, e.offset)] === ',' && /^\s*[}\]]/.test(text.slice(e.offset));
}

/** Key nodes that repeat a key of the same object (JSON.parse would silently keep the last). */
function duplicateKeys(node: Node): Node[] {
  const out: Node[] = [];
  if (node.type === 'object') {
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const key = prop.children?.[0];
      if (key && seen.has(key.value)) out.push(key);
      if (key) seen.add(key.value);
    }
  }
  for (const c of node.children ?? []) out.push(...duplicateKeys(c));
  return out;
}

function schemaIssues(config: ConfigObject, text: string, root: Node): ConfigIssue[] {
  const validate = validator();
  pathFields = [];
  if (validate(config)) return [];
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue; // wrapper noise of the per-kind dispatch
    let node = nodeFor(root, e.instancePath);
    if (e.keyword === 'additionalProperties') node = keyNode(root, e.instancePath, String(param(e, 'additionalProperty'))) ?? node;
    const msg = describe(e);
    const key = `${node.offset}:${msg}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const path = e.keyword === 'additionalProperties' ? `${e.instancePath}/${param(e, 'additionalProperty')}` : e.instancePath;
    out.push(issueAt(text, node.offset, node.length, path, msg));
  }
  return out;
}

/** Path existence + kind checks on a schema-valid config (the object is the one ajv just validated). */
function semanticIssues(config: FlowloopConfig, baseDir: string, kindChecks = true): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const f of pathFields) {
    const abs = resolve(baseDir, f.value);
    if (!existsSync(abs)) {
      out.push({
        path: f.path,
        message: `${f.kind === 'dir' ? 'folder' : f.kind === 'file' ? 'file' : 'path'} not found: ${f.value} (resolved to ${abs})`,
      });
      continue;
    }
    const isDir = statSync(abs).isDirectory();
    if (f.kind === 'dir' && !isDir) out.push({ path: f.path, message: `expected a folder, found a file: ${f.value}` });
    if (f.kind === 'file' && isDir) out.push({ path: f.path, message: `expected a file, found a folder: ${f.value}` });
  }
  const check = kindChecks ? SEMANTIC_CHECKS[config.kind] : undefined;
  if (check) out.push(...check(config, { baseDir }));
  return out;
}

/**
 * Validate a config object that has no text of its own (after `--set` overrides or a sweep point):
 * errors are reported at `where` (e.g. "--set flower.theta=2").
 */
export function validateConfigObject(config: ConfigObject, filePath: string, where: string): ValidationResult {
  const text = JSON.stringify(config, null, 2);
  const r = validateConfigText(text, filePath);
  return { config: r.config, errors: r.errors.map((e) => ({ ...e, message: `${e.message} (from ${where})` })) };
}

/** Read and validate a config file; size, encoding and emptiness are checked before parsing. */
export function validateConfigFile(filePath: string): ValidationResult & { text?: string } {
  let bytes: Buffer;
  try {
    if (statSync(filePath).size > MAX_CONFIG_BYTES) {
      return {
        errors: [
          {
            message: `the file is ${(statSync(filePath).size / 1048576).toFixed(1)} MB; a Flowloop config must be under ${MAX_CONFIG_BYTES / 1048576} MB (is this the right file?)`,
            path: '',
            line: 1,
            col: 1,
            offset: 0,
            length: 0,
          },
        ],
      };
    }
    bytes = readFileSync(filePath);
  } catch (e) {
    return {
      errors: [
        {
          message: `cannot read the config: ${errorCode(e) === 'ENOENT' ? 'no such file' : errorMessage(e)}`,
          path: '',
          line: 1,
          col: 1,
          offset: 0,
          length: 0,
        },
      ],
    };
  }
  const { text, badOffset } = decodeUtf8(bytes);
  if (text === undefined) {
    const prefix = new TextDecoder('utf-8').decode(bytes.subarray(0, badOffset));
    const { line, col } = lineColAt(prefix, prefix.length);
    return {
      errors: [
        {
          message: `the file is not valid UTF-8 (byte 0x${bytes[badOffset!].toString(16).padStart(2, '0')} at offset ${badOffset}); save it as UTF-8`,
          path: '',
          line,
          col,
          offset: badOffset!,
          length: 1,
        },
      ],
    };
  }
  return { ...validateConfigText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, filePath), text };
}

/** "file:line:col: message [at path]" — the one format every front door prints. */
export function formatIssue(file: string, e: ConfigIssue): string {
  return `${file}:${e.line}:${e.col}: ${e.message}${e.path ? ` [at ${e.path}]` : ''}`;
}

/** Line/col/offset of a JSON pointer in a config file (its nearest existing ancestor), for errors found after parsing. */
export function locateInFile(filePath: string, pointer: string): { line: number; col: number; offset: number; length: number } {
  try {
    const text = readFileSync(filePath, 'utf8');
    const root = parseTree(text);
    if (root) {
      const node = nodeFor(root, pointer);
      return { ...lineColAt(text, node.offset), offset: node.offset, length: node.length };
    }
  } catch {
    /* an embedded config has no file */
  }
  return { line: 1, col: 1, offset: 0, length: 0 };
}
