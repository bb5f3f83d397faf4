/**
 * safetensors read/write (8-byte little-endian header length, JSON header,
 * raw little-endian data) and PyTorch `state_dict` ↔ module transfer.
 *
 * Files hold tensors in PyTorch layout with PyTorch names, so timm / torchvision
 * weights load directly and our checkpoints open with `safetensors.torch.load_file`.
 */
import * as fs from 'fs';
import { tf } from './tf';
import type { Layout, Module } from '../nn/module';
import { writeFileAtomic } from './atomic_write';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

/** A tensor as stored: numeric values (always widened to float32/float64 or int32 on read) and shape. */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

function f16ToF32(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, f = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Little-endian bytes of `count` elements → the typed array `RawTensor` holds (F16/BF16 widened to float32). */
export function decodeBytes(dtype: Dtype, bytes: Uint8Array, count: number): RawTensor['data'] {
  // Copy into an aligned buffer: the data section need not be 8-byte aligned.
  const buf = new Uint8Array(bytes.length);
  buf.set(bytes);
  const dv = new DataView(buf.buffer);
  switch (dtype) {
    case 'F32': return new Float32Array(buf.buffer, 0, count);
    case 'F64': return new Float64Array(buf.buffer, 0, count);
    case 'I32': return new Int32Array(buf.buffer, 0, count);
    case 'I64': return new BigInt64Array(buf.buffer, 0, count);
    case 'U8': case 'BOOL': return buf;
    case 'F16': return Float32Array.from({ length: count }, (_, i) => f16ToF32(dv.getUint16(2 * i, true)));
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

/** A tensor as stored on disk: dtype, shape and its little-endian bytes. */
export interface StoredTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

/** Parses a safetensors buffer without decoding: each tensor's bytes as stored; `file` names it in errors. */
export function parseSafetensorsBytes(buf: Uint8Array, file = '<buffer>'): { tensors: Map<string, StoredTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${file}: not a safetensors file (${buf.length} bytes)`);
  // DataView and TextDecoder rather than Buffer methods: the browser page parses its weights with this too.
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (n > buf.length - 8) throw new Error(`${file}: header length ${n} exceeds file size ${buf.length}`);
  let header: Record<string, { dtype: Dtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = v as Record<string, string>; continue; }
    const { dtype, shape, data_offsets: [b, e] } = v as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`${file}: tensor "${name}" has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, c) => a * c, 1);
    if (e - b !== count * BYTES[dtype] || base + e > buf.length) throw new Error(`${file}: tensor "${name}" data offsets [${b}, ${e}] do not fit shape [${shape}] ${dtype}`);
    tensors.set(name, { dtype, shape, bytes: buf.subarray(base + b, base + e) });
  }
  return { tensors, metadata };
}

/** A stored tensor decoded to the typed array of its dtype. */
export function decodeStored(t: StoredTensor): RawTensor {
  return { dtype: t.dtype, shape: t.shape, data: decodeBytes(t.dtype, t.bytes, t.shape.reduce((a, c) => a * c, 1)) };
}

/** Parses a safetensors buffer; `file` names it in errors. */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const { tensors, metadata } = parseSafetensorsBytes(buf, file);
  return { tensors: new Map([...tensors].map(([k, t]) => [k, decodeStored(t)])), metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(fs.readFileSync(file), file);
}

function encodeBytes(t: RawTensor | StoredTensor): Buffer {
  if ('bytes' in t) return Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const d = t.data;
  if (t.dtype === 'F16' || t.dtype === 'BF16') throw new Error('writing F16/BF16 is not supported; write F32');
  const typed = t.dtype === 'F32' && !(d instanceof Float32Array) ? Float32Array.from(d as ArrayLike<number>) : d;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Serialises tensors (in insertion order; stored ones byte for byte) and string metadata. */
export function serializeSafetensors(tensors: Map<string, RawTensor | StoredTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    const bytes = encodeBytes(t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes.length] };
    chunks.push(bytes);
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data section 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...chunks]);
}

export function writeSafetensors(file: string, tensors: Map<string, RawTensor | StoredTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

/** PyTorch shape → ours, and the transpose that takes PyTorch data to ours. */
function toOurs(layout: Layout, shape: number[], data: Float32Array, target: number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, shape, 'float32');
    switch (layout) {
      case 'same': return t;
      case 'linear': return tf.transpose(t, [1, 0]);
      case 'conv': return tf.transpose(t, [2, 3, 1, 0]);
      case 'depthwise': {
        // [C·m, 1, kh, kw] → [kh, kw, C·m] → [kh, kw, C, m] (channel c·m + j is [c, j]).
        const [cm, , kh, kw] = shape;
        if (target.length !== 4 || target[2] * target[3] !== cm) return tf.reshape(t, [-1]);
        return tf.reshape(t, [cm, kh, kw]).transpose([1, 2, 0]).reshape(target);
      }
    }
  });
}

/** Our tensor → PyTorch layout `[shape, data]`. */
export function toTorchLayout(layout: Layout, t: tf.Tensor): { shape: number[]; data: Float32Array } {
  const out = tf.tidy(() => {
    let out: tf.Tensor;
    switch (layout) {
      case 'same': out = t; break;
      case 'linear': out = tf.transpose(t, [1, 0]); break;
      case 'conv': out = tf.transpose(t, [3, 2, 0, 1]); break;
      case 'depthwise': {
        const [kh, kw, c, m] = t.shape;
        out = tf.reshape(t, [kh, kw, c * m]).transpose([2, 0, 1]).reshape([c * m, 1, kh, kw]);
        break;
      }
    }
    return layout === 'same' ? out.clone() : out;
  });
  // Read outside tidy: tidy walks every element of a returned typed array.
  const res = { shape: out.shape, data: out.dataSync() as Float32Array };
  out.dispose();
  return res;
}

function asFloat32(t: RawTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data as ArrayLike<number>);
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

/** Our shape for a PyTorch-layout shape, without moving data (undefined when the layout cannot apply). */
function oursShape(layout: Layout, shape: number[], target: number[]): number[] | undefined {
  switch (layout) {
    case 'same': return shape;
    case 'linear': return shape.length === 2 ? [shape[1], shape[0]] : undefined;
    case 'conv': return shape.length === 4 ? [shape[2], shape[3], shape[1], shape[0]] : undefined;
    case 'depthwise': return shape.length === 4 && shape[1] === 1 && target.length === 4 && target[2] * target[3] === shape[0] ? [shape[2], shape[3], target[2], target[3]] : undefined;
  }
}

const listed = (what: string, names: string[]): string =>
  names.length ? `  ${what} (${names.length}): ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}\n` : '';

/**
 * Copies a PyTorch-layout state dict into `module` by name, transposing as each
 * parameter's layout says. Like `load_state_dict(strict)`: with `strict`, any
 * missing or unexpected key is an error listing them; shape mismatches always
 * are, each with both shapes. Everything is checked before anything is written,
 * so a failed load leaves the module as it was.
 * `num_batches_tracked` (a PyTorch BN counter we do not keep) is accepted and ignored.
 */
export function loadStateDict(module: Module, tensors: Map<string, RawTensor>, opts: { strict?: boolean; source?: string } = {}): LoadReport {
  const source = opts.source ?? 'state dict';
  const ours = module.namedTensors();
  const names = new Set(ours.map((t) => t.name));
  const missing = ours.filter((t) => !tensors.has(t.name)).map((t) => t.name);
  const unexpected = [...tensors.keys()].filter((k) => !names.has(k) && !k.endsWith('num_batches_tracked'));
  const mismatched: string[] = [];
  for (const t of ours) {
    const raw = tensors.get(t.name);
    const shape = raw && oursShape(t.layout, raw.shape, t.variable.shape);
    if (raw && !(shape && tf.util.arraysEqual(shape, t.variable.shape))) mismatched.push(`${t.name}: checkpoint [${raw.shape}], model [${toTorchShape(t.layout, t.variable.shape)}] (PyTorch layout)`);
  }
  if (mismatched.length || (opts.strict && (missing.length || unexpected.length))) {
    throw new Error(`${source}: error loading state dict:\n${listed('shape mismatches', mismatched)}${opts.strict ? listed('missing keys', missing) + listed('unexpected keys', unexpected) : ''}`.trimEnd());
  }
  for (const t of ours) {
    const raw = tensors.get(t.name);
    if (!raw) continue;
    const value = toOurs(t.layout, raw.shape, asFloat32(raw), t.variable.shape);
    t.variable.assign(value);
    value.dispose();
  }
  return { missing, unexpected };
}

/** Our shape → PyTorch's, for messages. */
function toTorchShape(layout: Layout, s: number[]): number[] {
  switch (layout) {
    case 'same': return s;
    case 'linear': return [s[1], s[0]];
    case 'conv': return [s[3], s[2], s[0], s[1]];
    case 'depthwise': return [s[2] * s[3], 1, s[0], s[1]];
  }
}

/** Reads a safetensors file into `module` (see `loadStateDict`). */
export function loadSafetensors(module: Module, file: string, opts: { strict?: boolean } = {}): LoadReport {
  return loadStateDict(module, readSafetensors(file).tensors, { ...opts, source: file });
}

/** The module's parameters and buffers in PyTorch layout, ready to write. */
export function moduleStateDict(module: Module): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const t of module.namedTensors()) {
    const { shape, data } = toTorchLayout(t.layout, t.variable);
    out.set(t.name, { dtype: 'F32', shape, data });
  }
  return out;
}
