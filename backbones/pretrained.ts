/**
 * ImageNet (or any) pretrained weights into a backbone, from the files people
 * download: official G-Ghost / GhostNet `.pth`, timm `.safetensors` /
 * `pytorch_model.bin`, or a ghostdet detector checkpoint (its `backbone.*`
 * tensors, as mmdetection's `init_cfg=dict(type='Pretrained', prefix='backbone.')`).
 * Strict on the backbone's own keys; the ImageNet classifier is dropped.
 */
import type { Backbone } from './backbone';
import { decodeStored, RawTensor, StoredTensor } from '../weights/safetensors';
import { loadStateDict } from '../nn/state_dict';
import { readWeights } from '../weights/weights_file';

/** Classifier prefixes of the reference families, dropped whatever backbone loads them. */
const CLASSIFIER_PREFIXES = ['classifier', 'fc', 'head.fc', 'head', 'conv_head'];

export interface PretrainedReport {
  file: string;
  format: string;
  loaded: number;
  /** Names dropped as classifier (or, for a detector checkpoint, outside `backbone.`). */
  dropped: string[];
  /** One line for the log: "loaded 412 tensors from …; classifier dropped (2)". */
  summary: string;
}

const under = (name: string, prefix: string): boolean => name === prefix || name.startsWith(prefix + '.');

/** Takes the `backbone.` part of a detector checkpoint (ours or mmdetection's), when the file is one. */
function backbonePart(tensors: Map<string, StoredTensor>, notes: string[]): { kept: Map<string, StoredTensor>; dropped: string[] } {
  const keys = [...tensors.keys()];
  // A checkpoint with a weight average: the average is the trained model.
  const prefix = keys.some((k) => k.startsWith('ema.backbone.')) ? 'ema.backbone.' : 'backbone.';
  if (!keys.some((k) => k.startsWith(prefix))) return { kept: tensors, dropped: [] };
  const kept = new Map<string, StoredTensor>(), dropped: string[] = [];
  for (const [k, v] of tensors) {
    if (k.startsWith(prefix)) kept.set(k.slice(prefix.length), v); else dropped.push(k);
  }
  notes.push(`a detector checkpoint: took the ${kept.size} "${prefix}" tensors, left ${dropped.length} others`);
  return { kept, dropped };
}

/**
 * Loads `file` into `backbone`. Missing backbone keys, unexpected ones and shape
 * mismatches are an error that lists them (a mismatch names both shapes).
 * @param key the dict key of the state_dict inside a training checkpoint.
 */
export function loadPretrained(backbone: Backbone, file: string, key?: string): PretrainedReport {
  const w = readWeights(file, { key });
  const notes = [...w.notes];
  const { kept, dropped } = backbonePart(w.tensors, notes);
  const own = new Set(backbone.namedTensors().map((t) => t.name));
  const classifier = [...new Set([...CLASSIFIER_PREFIXES, ...backbone.classifierPrefixes])];
  const tensors = new Map<string, RawTensor>();
  const droppedCls: string[] = [];
  for (const [k, v] of kept) {
    if (!own.has(k) && classifier.some((p) => under(k, p))) { droppedCls.push(k); continue; }
    tensors.set(k, decodeStored(v));
  }
  if (droppedCls.length) notes.push(`classifier dropped (${droppedCls.join(', ')})`);
  loadStateDict(backbone, tensors, { strict: true, source: `${file}${w.key ? ` ["${w.key}"]` : ''}` });
  const loaded = [...tensors.keys()].filter((k) => own.has(k)).length;
  return {
    file, format: w.format, loaded, dropped: [...dropped, ...droppedCls],
    summary: `loaded ${loaded} tensors into the backbone from ${file} (${w.format}${notes.length ? `; ${notes.join('; ')}` : ''})`,
  };
}
