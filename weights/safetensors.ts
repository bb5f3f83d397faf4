/**
 * safetensors read/write (8-byte little-endian header length, JSON header,
 * raw little-endian data). No TensorFlow.js here: `nn/state_dict.ts` moves
 * these tensors into and out of a module.
 *
 * Files hold tensors in PyTorch layout with PyTorch names, so timm / torchvision
 * weights load directly and our checkpoints open with `safetensors.torch.load_file`.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic_write';

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
