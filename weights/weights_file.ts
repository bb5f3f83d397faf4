/**
 * One entry point for the weight files people download: `.safetensors`
 * (timm, ours) and `torch.save` files (`.pth`, `.pt`, `.pth.tar`, `.bin`),
 * whichever layout they use:
 * - a bare state_dict, or a training checkpoint holding it under
 *   `state_dict`, `model`, `model_state`, `state_dict_ema`, `model_ema` or
 *   `ema` (the first present, unless `key` names one);
 * - `module.` prefixes (DataParallel / DDP) are stripped.
 * Tensors come back by name, each as stored (`StoredTensor`) so callers can
 * compare bytes, or decode with `decodeStored`.
 */
import * as fs from 'fs';
import { PyDict, PyObject, PyValue } from './pickle';
import { openRegularFile, readAt, readRegularFile } from '../util/read_file';
import { checkHeaderLength, parseSafetensorsBytes, StoredTensor } from './safetensors';
import { looksLikeTorch, readTorchCheckpoint } from './torch_checkpoint';

export const STATE_DICT_KEYS = ['state_dict', 'model', 'model_state', 'model_state_dict', 'state_dict_ema', 'model_ema', 'ema'];

export interface WeightsFile {
  file: string;
  format: 'safetensors' | 'torch-zip' | 'torch-legacy';
  tensors: Map<string, StoredTensor>;
  /** The dict key the state_dict came from, when the file is a training checkpoint. */
  key?: string;
  /** What was done to the names, for the summary line (e.g. "stripped module."). */
  notes: string[];
  /** A safetensors file's header metadata (empty for torch files). */
  metadata: Record<string, string>;
  /** What else the checkpoint held beside the state_dict (e.g. "epoch (number)", "optimizer (dict of 2)"). */
  leftOut: string[];
}

export interface ReadWeightsOptions {
  /** The dict key of the state_dict inside a training checkpoint. */
  key?: string;
}

const isTensor = (v: PyValue | undefined): v is PyObject => v instanceof PyObject && v.kind === 'tensor';

/** Tensor entries of a dict, or undefined when it is not a dict of (mostly) tensors. */
function tensorsOf(d: PyValue | undefined): Map<string, StoredTensor> | undefined {
  if (!(d instanceof PyDict)) return undefined;
  const out = new Map<string, StoredTensor>();
  for (const [k, v] of d.map) if (typeof k === 'string' && isTensor(v)) out.set(k, v.value as StoredTensor);
  return out.size > 0 && out.size === d.map.size ? out : undefined;
}

const describe = (k: unknown, v: PyValue): string => `${String(k)} (${v instanceof PyDict ? `dict of ${v.map.size}` : isTensor(v) ? 'tensor' : v === null ? 'None' : typeof v})`;

function describeKeys(d: PyDict): string {
  if (tensorsOf(d)) return `a bare state_dict of ${d.map.size} tensors`;
  const all = [...d.map.entries()].map(([k, v]) => describe(k, v));
  return all.slice(0, 12).join(', ') + (all.length > 12 ? `, … (${all.length} entries)` : '');
}

/** The entries of `root` other than `key`, described. */
function others(root: PyDict, key: string | undefined): string[] {
  return key === undefined ? [] : [...root.map.entries()].filter(([k]) => k !== key).map(([k, v]) => describe(k, v));
}

/** Finds the state_dict inside an unpickled checkpoint. */
export function findStateDict(root: PyValue, file: string, key?: string): { tensors: Map<string, StoredTensor>; key?: string } {
  if (!(root instanceof PyDict)) throw new Error(`${file}: the checkpoint holds a ${root === null ? 'None' : typeof root}, not a dict of tensors`);
  if (key !== undefined) {
    if (!root.map.has(key)) throw new Error(`${file}: no key "${key}" in the checkpoint; it holds: ${describeKeys(root)}`);
    const t = tensorsOf(root.map.get(key));
    if (!t) throw new Error(`${file}: "${key}" is not a dict of tensors; the checkpoint holds: ${describeKeys(root)}`);
    return { tensors: t, key };
  }
  const bare = tensorsOf(root);
  if (bare) return { tensors: bare };
  for (const k of STATE_DICT_KEYS) {
    const t = tensorsOf(root.map.get(k));
    if (t) return { tensors: t, key: k };
  }
  throw new Error(`${file}: found no state_dict (a dict of tensors, bare or under ${STATE_DICT_KEYS.join(' / ')}); the checkpoint holds: ${describeKeys(root)}. Name the key with --key / model.backbone.pretrainedKey`);
}

/** Strips a `module.` prefix that every key has (DataParallel, DistributedDataParallel). */
function stripModulePrefix(tensors: Map<string, StoredTensor>, notes: string[]): Map<string, StoredTensor> {
  const keys = [...tensors.keys()];
  if (!keys.length || !keys.every((k) => k.startsWith('module.'))) return tensors;
  notes.push('stripped the DataParallel prefix "module."');
  return new Map([...tensors].map(([k, v]) => [k.slice('module.'.length), v]));
}

function isSafetensors(file: string, head: Buffer): boolean {
  if (file.endsWith('.safetensors')) return true;
  if (head.length < 9) return false;
  const n = head.readBigUInt64LE(0);
  return n > 0n && n < 100_000_000n && head[8] === 0x7b; // '{'
}

/** Reads a weights file of any supported format; errors name the file and the problem. */
export function readWeights(file: string, opts: ReadWeightsOptions = {}): WeightsFile {
  try {
    return readWeightsUnchecked(file, opts);
  } catch (e) {
    // Our refusals name the file already; anything else (a bug reached by odd input) gets the name too.
    const msg = (e as Error).message ?? String(e);
    throw msg.startsWith(file) ? e : new Error(`${file}: cannot be read: ${msg}`);
  }
}

function readWeightsUnchecked(file: string, opts: ReadWeightsOptions): WeightsFile {
  const { fd, size } = openRegularFile(file, 'weights file');
  let head: Buffer;
  try {
    head = readAt(fd, file, 0, Math.min(size, 16));
  } finally {
    fs.closeSync(fd);
  }
  const notes: string[] = [];
  if (isSafetensors(file, head)) {
    if (opts.key) throw new Error(`${file}: a safetensors file holds one flat state_dict; --key ${opts.key} does not apply`);
    if (head.length < 8) throw new Error(`${file}: not a safetensors file (${size} bytes)`);
    checkHeaderLength(head, size, file); // before reading the whole file
    const { tensors, metadata } = parseSafetensorsBytes(readRegularFile(file, 'weights file'), file);
    return { file, format: 'safetensors', tensors: stripModulePrefix(tensors, notes), notes, metadata, leftOut: [] };
  }
  if (!looksLikeTorch(head)) throw new Error(`${file}: not a weights file this reads (safetensors, or torch.save zip / legacy)`);
  const ck = readTorchCheckpoint(file);
  const { tensors, key } = findStateDict(ck.root, file, opts.key);
  if (key) notes.push(`state_dict from "${key}"`);
  const leftOut = ck.root instanceof PyDict ? others(ck.root, key) : [];
  return { file, format: ck.format === 'zip' ? 'torch-zip' : 'torch-legacy', tensors: stripModulePrefix(tensors, notes), key, notes, metadata: {}, leftOut };
}
