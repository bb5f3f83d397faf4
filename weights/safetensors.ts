/**
 * safetensors read/write (8-byte little-endian header length, JSON header,
 * raw little-endian data). No TensorFlow.js here: `nn/state_dict.ts` moves
 * these tensors into and out of a module.
 *
 * Files hold tensors in PyTorch layout with PyTorch names, so timm / torchvision
 * weights load directly and our checkpoints open with `safetensors.torch.load_file`.
 */
import { writeFileAtomic } from '../util/atomic_write';
import { numberFlag } from '../util/flags';
import { readRegularFile } from '../util/read_file';

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

/** The safetensors library's cap on the JSON header: 100 MB. */
const DEFAULT_MAX_HEADER_MB = 100;

interface TensorInfo { dtype: Dtype; shape: number[]; data_offsets: [number, number] }

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Elements of a shape, or undefined when they cannot be counted exactly. */
function countElements(shape: number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** One header entry, typed as the safetensors library deserialises it: a dtype it knows, unsigned shape and offsets. */
function tensorInfo(name: string, v: unknown, fail: (m: string) => never): TensorInfo {
  const what = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(v)) return fail(`${what}: its header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(BYTES, dtype)) return fail(`${what} has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`${what}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    return fail(`${what}: data_offsets ${JSON.stringify(offsets)} are not two non-negative integers [begin, end] with begin ≤ end`);
  }
  const count = countElements(shape);
  const bytes = count === undefined ? undefined : count * BYTES[dtype as Dtype];
  if (bytes === undefined || !Number.isSafeInteger(bytes)) return fail(`${what}: shape [${shape}] has more elements than can be counted`);
  if (offsets[1] - offsets[0] !== bytes) return fail(`${what}: data offsets [${offsets}] hold ${offsets[1] - offsets[0]} bytes, shape [${shape}] ${dtype} needs ${bytes}`);
  return { dtype: dtype as Dtype, shape, data_offsets: [offsets[0], offsets[1]] };
}

/**
 * The header length a safetensors file's first 8 bytes declare, checked
 * against the cap and the file size before anything else is read.
 */
export function checkHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const maxHeader = numberFlag('GHOSTDET_MAX_HEADER_MB', DEFAULT_MAX_HEADER_MB) * 1e6;
  if (n > BigInt(Math.floor(maxHeader))) throw new Error(`${file}: safetensors header of ${n} bytes is over the ${maxHeader / 1e6} MB limit (GHOSTDET_MAX_HEADER_MB raises it)`);
  if (n > BigInt(fileSize - 8)) throw new Error(`${file}: header length ${n} exceeds file size ${fileSize} (the file is truncated or not safetensors)`);
  return Number(n);
}

/**
 * Parses a safetensors buffer without decoding: each tensor's bytes as stored;
 * `file` names it in errors. Validated as the safetensors library does: the
 * header is capped (GHOSTDET_MAX_HEADER_MB, default 100 MB), dtypes come from
 * a fixed list, shapes and offsets are unsigned, and the tensors tile the data
 * section exactly — sorted by offset, no gaps, no overlaps, no trailing bytes.
 */
export function parseSafetensorsBytes(buf: Uint8Array, file = '<buffer>'): { tensors: Map<string, StoredTensor>; metadata: Record<string, string> } {
  const fail = (m: string): never => { throw new Error(`${file}: ${m}`); };
  if (buf.length < 8) fail(`not a safetensors file (${buf.length} bytes)`);
  // DataView and TextDecoder rather than Buffer methods: the browser page parses its weights with this too.
  const base = 8 + checkHeaderLength(buf.subarray(0, 8), buf.length, file);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, base)));
  } catch (e) {
    return fail(`safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) return fail('safetensors header is not a JSON object');
  let metadata: Record<string, string> = {};
  const infos: Array<[string, TensorInfo]> = [];
  // Object.keys sees every own key JSON.parse made, `__proto__` included.
  for (const name of Object.keys(header)) {
    const v = header[name];
    if (name === '__metadata__') {
      if (!isPlainObject(v) || !Object.values(v).every((x) => typeof x === 'string')) fail('__metadata__ is not an object of strings');
      metadata = v as Record<string, string>;
    } else infos.push([name, tensorInfo(name, v, fail)]);
  }
  const sorted = [...infos].sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0] || x[1].data_offsets[1] - y[1].data_offsets[1]);
  let end = 0;
  for (const [name, t] of sorted) {
    const [b, e] = t.data_offsets;
    if (b !== end) fail(`tensor ${JSON.stringify(name)}: data offsets [${b}, ${e}] ${b < end ? 'overlap the tensor before' : 'leave a gap after the tensor before'} (it ends at ${end})`);
    end = e;
  }
  const dataLength = buf.length - base;
  if (end !== dataLength) fail(`the tensors cover ${end} bytes of a ${dataLength}-byte data section (${end < dataLength ? 'trailing bytes' : 'truncated'})`);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of infos) tensors.set(name, { dtype: t.dtype, shape: t.shape, bytes: buf.subarray(base + t.data_offsets[0], base + t.data_offsets[1]) });
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
  return parseSafetensors(readRegularFile(file, 'safetensors file'), file);
}

/** Bytes a tensor takes in the file: its element count times its dtype's size. */
export function tensorByteLength(t: { dtype: Dtype; shape: number[] }): number {
  return t.shape.reduce((a, c) => a * c, 1) * BYTES[t.dtype];
}

function encodeBytes(t: RawTensor | StoredTensor): Uint8Array {
  if ('bytes' in t) return t.bytes;
  const d = t.data;
  if (t.dtype === 'F16' || t.dtype === 'BF16') throw new Error('writing F16/BF16 is not supported; write F32');
  const typed = t.dtype === 'F32' && !(d instanceof Float32Array) ? Float32Array.from(d as ArrayLike<number>) : d;
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/**
 * The file as chunks, made one tensor at a time (in insertion order; stored
 * ones byte for byte) so that views are expanded one by one while writing.
 */
export function* safetensorsChunks(tensors: Map<string, RawTensor | StoredTensor>, metadata: Record<string, string> = {}): Generator<Uint8Array> {
  // A null-prototype object: a tensor named `__proto__` is an entry like any other.
  const header = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    const n = tensorByteLength(t);
    Object.defineProperty(header, name, { value: { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] }, enumerable: true });
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data section 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  yield head;
  yield Buffer.from(json, 'utf8');
  for (const [name, t] of tensors) {
    const bytes = encodeBytes(t);
    if (bytes.length !== tensorByteLength(t)) throw new Error(`tensor "${name}": ${bytes.length} bytes for shape [${t.shape}] ${t.dtype}`);
    yield bytes;
  }
}

/** Serialises tensors and string metadata to one buffer (the page's weights, tests). */
export function serializeSafetensors(tensors: Map<string, RawTensor | StoredTensor>, metadata: Record<string, string> = {}): Buffer {
  return Buffer.concat([...safetensorsChunks(tensors, metadata)]);
}

/** Writes a safetensors file atomically, streaming it tensor by tensor. */
export function writeSafetensors(file: string, tensors: Map<string, RawTensor | StoredTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, safetensorsChunks(tensors, metadata));
}
