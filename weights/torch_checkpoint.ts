/**
 * Reads `torch.save` files in TypeScript, without Python or PyTorch:
 * - the zip format (PyTorch ≥ 1.6): `<folder>/data.pkl` is the pickled object,
 *   `<folder>/data/<key>` the raw bytes of each storage;
 * - the legacy format: pickled magic number, protocol version and sys info,
 *   the object, the sorted list of storage keys, then each storage as an
 *   int64 element count followed by its bytes.
 * Tensors come back contiguous and little-endian whatever their strides and
 * storage offset; a storage shared by several tensors is read once.
 *
 * The pickle is unpickled by `weights/pickle.ts` with an allowlist of the
 * globals a tensor checkpoint needs; anything else (`posix.system`,
 * `builtins.eval`, a model class) is refused by name before it can be called.
 * Reference: `torch/serialization.py` (`_save`, `_legacy_save`, `_load`).
 */
import * as fs from 'fs';
import { numberFlag } from '../util/flags';
import { openRegularFile, readAt } from '../util/read_file';
import { PyDict, PyObject, PyTuple, PyValue, unpickle } from './pickle';
import type { Dtype } from './safetensors';
import { checkGeometry, ITEM_BYTES, StridedView } from './strided_view';
import { ZipArchive } from './zip_archive';

export interface TorchCheckpoint {
  file: string;
  format: 'zip' | 'legacy';
  /** The unpickled object; each tensor is a `PyObject` of kind `tensor` whose `value` is a `StoredTensor` (a `StridedView`). */
  root: PyValue;
  /** Number of distinct storages read. */
  storages: number;
}

/** Exact names only: a Map, so `constructor` or `__proto__` are not storage types. */
const STORAGE_DTYPES = new Map<string, Dtype>([
  ['FloatStorage', 'F32'], ['HalfStorage', 'F16'], ['BFloat16Storage', 'BF16'], ['DoubleStorage', 'F64'],
  ['LongStorage', 'I64'], ['IntStorage', 'I32'], ['ByteStorage', 'U8'], ['BoolStorage', 'BOOL'],
]);

/** What a persistent id points at: a storage (or, in old legacy files, a view of one). */
interface StorageRef {
  key: string;
  dtype: Dtype;
  numel: number;
  /** Legacy storage views: element offset into the root storage `key`. */
  viewOffset: number;
}

interface PendingTensor {
  obj: PyObject;
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

const intList = (v: PyValue, what: string, where: string): number[] => {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) throw new Error(`${where}: ${what} is not a tuple of integers`);
  return items as number[];
};

/**
 * A numpy scalar (training checkpoints often store `best_acc1` or an epoch
 * counter as one): `scalar(dtype, raw bytes)` → its value. Data only.
 */
function numpyScalar(args: PyValue[], where: string): PyValue {
  const [dt, raw] = args;
  if (!(dt instanceof PyObject) || dt.kind !== 'numpy.dtype' || !(raw instanceof Uint8Array)) throw new Error(`${where}: malformed numpy scalar`);
  const { code, little } = dt.value as { code: string; little: boolean };
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read: Record<string, () => PyValue> = {
    f8: () => v.getFloat64(0, little), f4: () => v.getFloat32(0, little),
    i8: () => { const b = v.getBigInt64(0, little); return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; },
    i4: () => v.getInt32(0, little), i2: () => v.getInt16(0, little), i1: () => v.getInt8(0),
    u8: () => v.getBigUint64(0, little), u4: () => v.getUint32(0, little), u2: () => v.getUint16(0, little), u1: () => v.getUint8(0),
    b1: () => v.getUint8(0) !== 0,
  };
  if (!read[code]) throw new Error(`${where}: numpy scalar of dtype "${code}" is not supported`);
  return read[code]();
}

/**
 * The globals a checkpoint of tensors may name. Everything else is refused:
 * allowing a name means writing what it does here, so nothing is ever run.
 */
function makeGlobals(where: string, pending: PendingTensor[]): (module: string, name: string) => PyValue {
  const rebuild = (args: PyValue[]): PyValue => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof PyObject) || storage.kind !== 'storage') throw new Error(`${where}: _rebuild_tensor_v2 without a storage`);
    if (typeof offset !== 'number') throw new Error(`${where}: _rebuild_tensor_v2 storage offset is not an int`);
    const obj = new PyObject('tensor');
    pending.push({ obj, storage: storage.value as StorageRef, offset, shape: intList(size, 'size', where), stride: intList(stride, 'stride', where) });
    return obj;
  };
  const firstArg = (args: PyValue[]): PyValue => args[0];
  const table: Record<string, PyObject> = {
    'collections.OrderedDict': new PyObject('OrderedDict', () => new PyDict()),
    'builtins.dict': new PyObject('dict', () => new PyDict()),
    'builtins.list': new PyObject('list', (a) => (Array.isArray(a[0]) ? [...a[0]] : [])),
    'builtins.tuple': new PyObject('tuple', (a) => new PyTuple(Array.isArray(a[0]) ? [...a[0]] : a[0] instanceof PyTuple ? [...a[0].items] : [])),
    'builtins.set': new PyObject('set', (a) => (Array.isArray(a[0]) ? [...a[0]] : [])),
    'builtins.frozenset': new PyObject('frozenset', (a) => (Array.isArray(a[0]) ? [...a[0]] : [])),
    'torch._utils._rebuild_tensor_v2': new PyObject('_rebuild_tensor_v2', rebuild),
    'torch._utils._rebuild_tensor': new PyObject('_rebuild_tensor', rebuild),
    'torch._utils._rebuild_parameter': new PyObject('_rebuild_parameter', firstArg),
    'torch._utils._rebuild_parameter_with_state': new PyObject('_rebuild_parameter_with_state', firstArg),
    'torch.device': new PyObject('device', (a) => String(a[0])),
    'torch.Size': new PyObject('Size', (a) => (a[0] instanceof PyTuple ? a[0] : new PyTuple([]))),
    // Python 3 pickles `bytes` at protocol 2 as _codecs.encode(latin-1 text, 'latin1').
    '_codecs.encode': new PyObject('encode', (a) => Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0) & 0xff)),
  };
  const npScalar = new PyObject('numpy.scalar', (a) => numpyScalar(a, where));
  table['numpy.core.multiarray.scalar'] = npScalar;
  table['numpy._core.multiarray.scalar'] = npScalar;
  table['numpy.dtype'] = new PyObject('numpy.dtype', (a) => {
    const d = { code: String(a[0]), little: true };
    return new PyObject('numpy.dtype', undefined, d, (state) => {
      if (state instanceof PyTuple && state.items[1] === '>') d.little = false;
    });
  });
  // Exact lookups only: `in` on a plain object would also find inherited names such as `constructor`.
  const allowed = new Map(Object.entries(table));
  return (module, name) => {
    const full = `${module}.${name}`;
    const known = allowed.get(full);
    if (known) return known;
    const dtype = module === 'torch' ? STORAGE_DTYPES.get(name) : undefined;
    if (dtype) return new PyObject('storage_type', undefined, dtype);
    throw new Error(`refused to load: the pickle names the global "${full}", which is not a tensor-checkpoint type; nothing was executed. ` +
      'Only tensors, storages and plain containers are allowed (a checkpoint that pickles code or model classes cannot be loaded safely)');
  };
}

/** Persistent ids: `('storage', storage_type, key, location, numel[, view_metadata])`. */
function makePersistentLoad(where: string): (pid: PyValue) => PyValue {
  return (pid) => {
    const t = pid instanceof PyTuple ? pid.items : undefined;
    if (!t || t[0] !== 'storage') throw new Error(`${where}: unsupported persistent id ${JSON.stringify(t?.[0] ?? null)} (only storages are expected)`);
    const [, type, key, , numel, view] = t;
    if (!(type instanceof PyObject) || type.kind !== 'storage_type') throw new Error(`${where}: storage "${String(key)}" has no known storage type`);
    if (typeof key !== 'string' || !isCount(numel)) throw new Error(`${where}: malformed storage reference (key ${JSON.stringify(typeof key === 'string' ? key : null)}, ${String(numel)} elements)`);
    const ref: StorageRef = { key, dtype: type.value as Dtype, numel, viewOffset: 0 };
    if (view instanceof PyTuple) {
      // Legacy storage views: (view_key, offset, view_size) into the root storage `key`.
      const off = view.items[1];
      if (!isCount(off)) throw new Error(`${where}: malformed storage view of "${key}"`);
      ref.viewOffset = off;
    }
    return new PyObject('storage', undefined, ref);
  };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Byte size of a storage, refusing what cannot be counted. */
function storageBytes(ref: StorageRef, file: string): number {
  const n = ref.numel * ITEM_BYTES[ref.dtype];
  if (!Number.isSafeInteger(n)) throw new Error(`${file}: storage "${ref.key}" declares ${ref.numel} elements, more than can be counted`);
  return n;
}

/**
 * Checks every tensor's geometry against its storage before any storage is
 * read, and bounds what writing the views out as tensors would cost.
 */
function checkTensors(file: string, pending: PendingTensor[], names: Map<PyObject, string>): Map<PendingTensor, number> {
  const numels = new Map<PendingTensor, number>();
  const storages = new Map<string, number>();
  let tensorBytes = 0;
  for (const t of pending) {
    const prior = storages.get(t.storage.key);
    if (prior !== undefined && prior !== storageBytes(t.storage, file)) throw new Error(`${file}: storage "${t.storage.key}" is declared with two different sizes`);
    storages.set(t.storage.key, storageBytes(t.storage, file));
    try {
      numels.set(t, checkGeometry({ shape: t.shape, stride: t.stride, offset: t.storage.viewOffset + t.offset }, t.storage.numel));
    } catch (e) {
      const name = names.get(t.obj) ?? `number ${pending.indexOf(t)}`;
      throw new Error(`${file}: tensor "${name}" (storage "${t.storage.key}"): ${(e as Error).message}; the file is corrupt or hostile`);
    }
    tensorBytes += numels.get(t)! * ITEM_BYTES[t.storage.dtype];
  }
  const stored = [...storages.values()].reduce((a, b) => a + b, 0);
  const expansion = numberFlag('GHOSTDET_MAX_VIEW_EXPANSION', 4);
  if (tensorBytes > expansion * stored + 64 * 2 ** 20) {
    throw new Error(`${file}: its tensors view ${(stored / 2 ** 20).toFixed(1)} MiB of storage but would take ${(tensorBytes / 2 ** 20).toFixed(1)} MiB written out ` +
      `(more than ${expansion}× plus 64 MiB: overlapping or stride-0 views); refused. GHOSTDET_MAX_VIEW_EXPANSION raises the limit`);
  }
  return numels;
}

/** Names of the tensors in a dict and in its dicts one level down (a state_dict inside a training checkpoint), for errors. */
function tensorNames(root: PyValue): Map<PyObject, string> {
  const names = new Map<PyObject, string>();
  if (!(root instanceof PyDict)) return names;
  for (const [k, v] of root.map) {
    if (v instanceof PyObject) names.set(v, String(k));
    else if (v instanceof PyDict) for (const [k2, v2] of v.map) if (v2 instanceof PyObject) names.set(v2, `${String(k)}.${String(k2)}`);
  }
  return names;
}

/** Reads each referenced storage once and makes every tensor a view of it. */
function finish(file: string, root: PyValue, pending: PendingTensor[], read: (ref: StorageRef) => Uint8Array): number {
  const numels = checkTensors(file, pending, tensorNames(root));
  const cache = new Map<string, Uint8Array>();
  for (const t of pending) {
    let bytes = cache.get(t.storage.key);
    if (!bytes) {
      bytes = read(t.storage);
      cache.set(t.storage.key, bytes);
    }
    const offset = t.storage.viewOffset + t.offset;
    t.obj.value = new StridedView(t.storage.dtype, { shape: t.shape, stride: t.stride, offset }, numels.get(t)!, bytes);
  }
  return cache.size;
}

function readZip(file: string, fd: number, size: number): TorchCheckpoint {
  const zip = ZipArchive.open(file, fd, size, numberFlag('GHOSTDET_MAX_ZIP_RATIO', 100));
  const pkl = zip.names().find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkl) throw new Error(`${file}: zip archive without a data.pkl; not a torch.save file (members: ${zip.names().slice(0, 5).join(', ')})`);
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  if (zip.has(`${prefix}byteorder`)) {
    const order = zip.read(`${prefix}byteorder`, { maxBytes: 16, what: 'byte order' });
    if (new TextDecoder().decode(order).trim() === 'big') throw new Error(`${file}: big-endian checkpoints are not supported`);
  }
  const maxPickle = numberFlag('GHOSTDET_MAX_PICKLE_MB', 256) * 2 ** 20;
  const pickle = zip.read(pkl, { maxBytes: maxPickle, what: 'pickle (GHOSTDET_MAX_PICKLE_MB raises the limit)' });
  const pending: PendingTensor[] = [];
  const where = `${file} (${pkl})`;
  const { value } = unpickle(pickle, { findGlobal: makeGlobals(where, pending), persistentLoad: makePersistentLoad(where), where });
  const storages = finish(file, value, pending, (ref) => {
    const name = `${prefix}data/${ref.key}`;
    const need = storageBytes(ref, file);
    const m = zip.member(name);
    if (!m) throw new Error(`${file}: storage "${ref.key}" is missing from the archive (expected ${name})`);
    if (m.size < need) throw new Error(`${file}: storage "${ref.key}" has ${m.size} bytes, expected ${ref.numel} × ${ITEM_BYTES[ref.dtype]}`);
    return zip.read(name, { maxBytes: need, what: `storage "${ref.key}" of ${ref.numel} × ${ITEM_BYTES[ref.dtype]} bytes` });
  });
  return { file, format: 'zip', root: value, storages };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacy(file: string, buf: Uint8Array): TorchCheckpoint {
  // The legacy layout has no index: its storages follow the pickles, so the whole file is read (it is what the tensors reference).
  const plain = { findGlobal: (m: string, n: string): PyValue => { throw new Error(`refused global "${m}.${n}" in the file header`); }, where: `${file} (header)` };
  const magic = unpickle(buf, plain, 0);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${file}: not a PyTorch file (wrong magic number)`);
  const proto = unpickle(buf, plain, magic.end);
  if (proto.value !== 1001) throw new Error(`${file}: unsupported legacy protocol version ${String(proto.value)}`);
  const sysInfo = unpickle(buf, plain, proto.end);
  if (sysInfo.value instanceof PyDict && sysInfo.value.map.get('little_endian') === false) throw new Error(`${file}: big-endian checkpoints are not supported`);
  const pending: PendingTensor[] = [];
  const where = `${file} (object pickle)`;
  const obj = unpickle(buf, { findGlobal: makeGlobals(where, pending), persistentLoad: makePersistentLoad(where), where }, sysInfo.end);
  const keys = unpickle(buf, { ...plain, where: `${file} (storage keys)` }, obj.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new Error(`${file}: the storage key list is malformed`);
  // Storages follow in the order of the key list: int64 element count, then the bytes.
  const refs = new Map(pending.map((p) => [p.storage.key, p.storage]));
  const located = new Map<string, Uint8Array>();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    if (pos + 8 > buf.length) throw new Error(`${file}: truncated: storage "${key}" starts past the end of the file (${buf.length} bytes)`);
    const count = dv.getBigInt64(pos, true);
    const ref = refs.get(key);
    if (!ref) throw new Error(`${file}: storage "${key}" is listed but no tensor uses it; its element size is unknown`);
    const item = ITEM_BYTES[ref.dtype];
    if (count < 0n) throw new Error(`${file}: corrupt: storage "${key}" declares ${count} elements`);
    if (count * BigInt(item) > BigInt(buf.length - pos - 8)) throw new Error(`${file}: truncated: storage "${key}" needs ${count * BigInt(item)} bytes at byte ${pos + 8}, the file has ${buf.length}`);
    const numel = Number(count);
    if (numel < ref.numel) throw new Error(`${file}: storage "${key}" holds ${numel} elements, its tensors expect ${ref.numel}`);
    const end = pos + 8 + numel * item;
    located.set(key, buf.subarray(pos + 8, end));
    pos = end;
  }
  const storages = finish(file, obj.value, pending, (ref) => {
    const b = located.get(ref.key);
    if (!b) throw new Error(`${file}: storage "${ref.key}" is not in the file's storage list`);
    return b;
  });
  return { file, format: 'legacy', root: obj.value, storages };
}

/** True when the bytes start like a `torch.save` file (zip local header, or a pickle PROTO). */
export function looksLikeTorch(head: Uint8Array): boolean {
  return (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) || head[0] === 0x80;
}

/** Reads a `torch.save` file; errors name the file and what is wrong. */
export function readTorchCheckpoint(file: string): TorchCheckpoint {
  const { fd, size } = openRegularFile(file, 'weights file');
  try {
    if (size < 4) throw new Error(`${file}: ${size} bytes is too short to be a PyTorch checkpoint`);
    const head = readAt(fd, file, 0, Math.min(size, 262));
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return readZip(file, fd, size);
    if (head[0] === 0x80) {
      const all = readAt(fd, file, 0, size);
      return readLegacy(file, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
    }
    if (new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') {
      throw new Error(`${file}: a tar-format checkpoint (PyTorch < 0.4) is not supported; re-save it with a current PyTorch`);
    }
    throw new Error(`${file}: not a PyTorch checkpoint (neither a zip archive nor a pickle: first bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  } finally {
    fs.closeSync(fd);
  }
}
