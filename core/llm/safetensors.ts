/**
 * The safetensors file format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the raw tensor bytes
 * (offsets relative to the end of the header). Reader and writer; the reader widens BF16 / F16 (and
 * F64) to float32, reading one tensor at a time from the file (a 1.5B model's 3 GB never sits in one
 * buffer). Sharded checkpoints (`model.safetensors.index.json`, `weight_map`: name -> shard) are read
 * by `readModelWeights`.
 */
import { closeSync, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LocatedError } from '../experiment/context';
import { readFolderJson } from './hfConfig';

/** Storage dtypes the reader understands (all become float32). */
export type StoredDtype = 'F32' | 'BF16' | 'F16' | 'F64';

export interface TensorHeader {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
  /** The dtype it was stored in. */
  stored: StoredDtype;
}

const BYTES: Record<StoredDtype, number> = { F32: 4, BF16: 2, F16: 2, F64: 8 };

/** Header of a safetensors file (tensor entries and the optional `__metadata__`); errors name the file. */
export function readSafetensorsHeader(path: string): {
  tensors: Record<string, TensorHeader>;
  metadata: Record<string, string>;
  dataStart: number;
} {
  if (!existsSync(path)) throw new LocatedError(`file not found`, path);
  const fd = openSync(path, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new LocatedError('not a safetensors file: shorter than its 8-byte header length', path);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (!(n > 1 && n < 1e9)) throw new LocatedError(`not a safetensors file: header length ${n}`, path);
    const hb = Buffer.alloc(n);
    if (readSync(fd, hb, 0, n, 8) !== n) throw new LocatedError(`truncated safetensors header (${n} bytes announced)`, path);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hb.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new LocatedError(`safetensors header is not JSON: ${(e as Error).message}`, path);
    }
    const metadata = (json.__metadata__ ?? {}) as Record<string, string>;
    delete json.__metadata__;
    return { tensors: json as Record<string, TensorHeader>, metadata, dataStart: 8 + n };
  } finally {
    closeSync(fd);
  }
}

/** IEEE half -> float32 value. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Decode raw little-endian bytes of `dtype` into float32. */
export function toFloat32(bytes: Buffer, dtype: StoredDtype): Float32Array {
  const n = bytes.length / BYTES[dtype];
  const out = new Float32Array(n);
  const aligned = bytes.byteOffset % BYTES[dtype] === 0; // typed-array views need alignment (hosts are little-endian)
  if (dtype === 'F32') {
    if (aligned) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    else for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  } else if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    if (aligned) {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) u[i] = h[i] << 16;
    } else for (let i = 0; i < n; i++) u[i] = bytes.readUInt16LE(i * 2) << 16;
  } else if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2));
  } else {
    for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(i * 8);
  }
  return out;
}

/**
 * Read the tensors of one safetensors file as float32 (`names` given: only those). Errors name the file
 * and the tensor (unsupported dtype, offsets outside the file, shape/size mismatch).
 */
export function readSafetensors(path: string, names?: Iterable<string>): Map<string, LoadedTensor> {
  const { tensors, dataStart } = readSafetensorsHeader(path);
  const want = names ? [...names] : Object.keys(tensors);
  const out = new Map<string, LoadedTensor>();
  const fd = openSync(path, 'r');
  try {
    for (const name of want) {
      const t = tensors[name];
      if (!t) throw new LocatedError(`tensor "${name}" is not in this file`, path);
      const where = `${basename(path)}: ${name}`;
      if (!(t.dtype in BYTES)) throw new LocatedError(`dtype ${t.dtype} is not supported (expected F32, BF16, F16 or F64)`, where, path);
      const dtype = t.dtype as StoredDtype;
      const [b, e] = t.data_offsets;
      const count = t.shape.reduce((a, c) => a * c, 1);
      if (e - b !== count * BYTES[dtype])
        throw new LocatedError(
          `data_offsets [${b}, ${e}] hold ${e - b} bytes, shape [${t.shape}] of ${dtype} needs ${count * BYTES[dtype]}`,
          where,
          path,
        );
      const buf = Buffer.alloc(e - b);
      let got = 0;
      while (got < buf.length) {
        const r = readSync(fd, buf, got, Math.min(buf.length - got, 1 << 30), dataStart + b + got);
        if (r <= 0) throw new LocatedError(`file ends inside the tensor's bytes (offsets [${b}, ${e}])`, where, path);
        got += r;
      }
      out.set(name, { shape: t.shape.slice(), data: toFloat32(buf, dtype), stored: dtype });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A tensor to write: float32 data, stored as F32 (default) or BF16 (round to nearest even). */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
  dtype?: 'F32' | 'BF16';
}

function floatToBf16(x: number, u32: Uint32Array, f32: Float32Array): number {
  f32[0] = x;
  const u = u32[0];
  if (Number.isNaN(x)) return 0x7fc0;
  return ((u + 0x7fff + ((u >> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Write tensors as one safetensors file (names sorted, as the Hugging Face writer does; header padded
 * with spaces to a multiple of 8). `metadata` goes to `__metadata__` (PEFT and transformers write
 * `{"format": "pt"}`).
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, c) => a * c, 1);
    if (count !== t.data.length)
      throw new Error(`writeSafetensors: ${name} has ${t.data.length} values, shape [${t.shape}] needs ${count}`);
    const bytes = count * ((t.dtype ?? 'F32') === 'BF16' ? 2 : 4);
    header[name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let hjson = JSON.stringify(header);
  while ((8 + Buffer.byteLength(hjson)) % 8 !== 0) hjson += ' ';
  const hbuf = Buffer.from(hjson, 'utf8');
  const out = Buffer.alloc(8 + hbuf.length + off);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let p = 8 + hbuf.length;
  const u32 = new Uint32Array(1);
  const f32 = new Float32Array(u32.buffer);
  for (const [, t] of entries) {
    if ((t.dtype ?? 'F32') === 'BF16') {
      for (let i = 0; i < t.data.length; i++, p += 2) out.writeUInt16LE(floatToBf16(t.data[i], u32, f32), p);
    } else {
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, p);
      p += t.data.byteLength;
    }
  }
  writeFileSync(path, out);
}

/** A tensor of a model folder whose bytes are read when `data` is accessed (and not kept). */
export interface LazyTensor {
  shape: number[];
  stored: StoredDtype;
  readonly data: Float32Array;
}

/** Which file holds which tensors: `model.safetensors`, or the shards of `model.safetensors.index.json` (`weight_map`). */
function weightFiles(dir: string): Map<string, string[]> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const byFile = new Map<string, string[]>();
  if (existsSync(index)) {
    const json = readFolderJson(index) as { weight_map?: Record<string, string> };
    if (!json.weight_map || typeof json.weight_map !== 'object')
      throw new LocatedError('missing "weight_map" (tensor name -> shard file)', `${index}: weight_map`, index);
    for (const [name, file] of Object.entries(json.weight_map)) {
      if (!existsSync(join(dir, file)))
        throw new LocatedError(`shard "${file}" (holding ${name}) is missing from the model folder`, `${index}: weight_map.${name}`, index);
      const l = byFile.get(file) ?? [];
      l.push(name);
      byFile.set(file, l);
    }
    return byFile;
  }
  if (existsSync(single)) return new Map([['model.safetensors', Object.keys(readSafetensorsHeader(single).tensors)]]);
  throw new LocatedError(
    'no weights: neither model.safetensors nor model.safetensors.index.json (+ shards) is in the folder (PyTorch .bin checkpoints are not read: convert them to safetensors)',
    dir,
  );
}

/**
 * The weights of a Hugging Face model folder, lazily: shapes and dtypes from the headers, each tensor's
 * bytes read (and widened to float32) when its `data` is accessed — so loading a model never holds more
 * than one tensor in JavaScript memory besides the backend's copy. Errors name the folder file.
 */
export function openModelWeights(dir: string): { tensors: Map<string, LazyTensor>; dtypes: Set<StoredDtype>; files: string[] } {
  const byFile = weightFiles(dir);
  const tensors = new Map<string, LazyTensor>();
  const dtypes = new Set<StoredDtype>();
  for (const [file, names] of byFile) {
    const path = join(dir, file);
    const { tensors: headers } = readSafetensorsHeader(path);
    for (const name of names) {
      const h = headers[name];
      if (!h) throw new LocatedError(`tensor "${name}" is not in this file`, path);
      if (!(h.dtype in BYTES))
        throw new LocatedError(`dtype ${h.dtype} is not supported (expected F32, BF16, F16 or F64)`, `${file}: ${name}`, path);
      dtypes.add(h.dtype as StoredDtype);
      tensors.set(name, {
        shape: h.shape.slice(),
        stored: h.dtype as StoredDtype,
        get data() {
          return readSafetensors(path, [name]).get(name)!.data;
        },
      });
    }
  }
  return { tensors, dtypes, files: [...byFile.keys()] };
}

/** Every tensor of a model folder as float32 (see `openModelWeights` for the lazy form). */
export function readModelWeights(dir: string): { tensors: Map<string, LoadedTensor>; dtypes: Set<StoredDtype>; files: string[] } {
  const byFile = weightFiles(dir);
  const tensors = new Map<string, LoadedTensor>();
  const dtypes = new Set<StoredDtype>();
  for (const [file, names] of byFile) {
    for (const [n, t] of readSafetensors(join(dir, file), names)) {
      tensors.set(n, t);
      dtypes.add(t.stored);
    }
  }
  return { tensors, dtypes, files: [...byFile.keys()] };
}
