/**
 * The typed config: defaults for model, data, train and eval; JSON files
 * override them (`extends`: one base file or a list of them, from configs/_base/); `--set a.b=c`
 * coerces the value to the existing field's type. Unknown keys and wrong types
 * are errors with a did-you-mean.
 */
import { readRegularFile } from '../util/read_file';
import * as path from 'path';
import type { ModelConfig } from '../detectors/build';
import type { DataConfig } from '../data/data_config';

export type { DataConfig } from '../data/data_config';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adamw';
  /** Learning rate for `lrBatch` images per step; scaled linearly to `batchSize`. */
  lr: number;
  lrBatch: number;
  momentum: number;
  weightDecay: number;
  noDecayOnNormAndBias: boolean;
  /** LR multiplier of the backbone's parameters (mmdetection `paramwise_cfg.custom_keys.backbone.lr_mult`). */
  backboneLrMult: number;
  schedule: 'step' | 'cosine';
  steps: number[];
  gamma: number;
  warmupIters: number;
  /** Warm-up length in epochs instead of iterations (YOLOX: 5); 0 = use `warmupIters`. */
  warmupEpochs: number;
  warmupRatio: number;
  gradClip: number;
  /** Exponential moving average of the weights (YOLOX's recipe); evaluation and the final model use it. */
  ema: { enabled: boolean; momentum: number; gamma: number };
  /** Data-parallel replicas in worker threads on wasm/cpu (one thread each); 1 = off. */
  workers: number;
  evalEvery: number;
  checkpointEvery: number;
  logEvery: number;
  seed: number;
}

export interface EvalConfig {
  batchSize: number;
  fpsIters: number;
}

export interface Config {
  model: ModelConfig;
  data: DataConfig;
  train: TrainConfig;
  eval: EvalConfig;
}

export const DEFAULTS: Config = {
  model: {
    numClasses: 80,
    backbone: { name: 'g_ghost_regnetx_032', frozenStages: 1 },
    neck: { type: 'fpn', outChannels: 256, numOuts: 5, extraSource: 'on_input', reluBeforeExtraConvs: true, numCspBlocks: 3 },
    head: { type: 'retinanet', featChannels: 256, stackedConvs: 4, priorProb: 0.01, gnGroups: 0 },
    retinanet: {
      anchors: { octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1, 2], centerOffset: 0 },
      assign: { posIou: 0.5, negIou: 0.4, minPosIou: 0, ignoreIof: 0.5 },
      loss: { alpha: 0.25, gamma: 2, bbox: 'l1' },
      test: { scoreThr: 0.05, nmsPre: 1000, iouThr: 0.5, maxPerImage: 100 },
    },
    yolox: {
      simota: { centerRadius: 2.5, candidateTopk: 10, iouWeight: 3, clsWeight: 1 },
      loss: { bboxWeight: 5, objWeight: 1, clsWeight: 1, l1Weight: 1, l1LastEpochs: 0, iouMode: 'square' },
      test: { scoreThr: 0.01, iouThr: 0.65, maxPerImage: 100 },
    },
  },
  data: {
    kind: 'coco', root: '', trainAnn: 'annotations/instances_train2017.json', trainImages: 'train2017',
    valAnn: 'annotations/instances_val2017.json', valImages: 'val2017',
    synthetic: { images: 512, val: 64, size: 128, seed: 0 },
    resize: { mode: 'keepRatio', scale: [1333, 800], size: 512 }, sizeDivisor: 128, flipProb: 0.5, filterEmpty: true, checkFiles: 'header', workers: 1, prefetch: 4, maxImagePixels: 89_478_485, maxBadFraction: 0.01,
    mosaic: { enabled: false, prob: 1, centerRange: [0.5, 1.5] },
    randomAffine: { enabled: false, maxRotate: 10, scaleRange: [0.1, 2], maxShear: 2, maxTranslate: 0.1 },
  },
  train: {
    epochs: 12, batchSize: 2, optimizer: 'sgd', lr: 0.01, lrBatch: 16, momentum: 0.9, weightDecay: 1e-4, noDecayOnNormAndBias: false, backboneLrMult: 1,
    schedule: 'step', steps: [8, 11], gamma: 0.1, warmupIters: 500, warmupEpochs: 0, warmupRatio: 0.001, gradClip: 35,
    ema: { enabled: false, momentum: 0.0001, gamma: 2000 }, workers: 1, evalEvery: 1, checkpointEvery: 1, logEvery: 20, seed: 0,
  },
  eval: { batchSize: 1, fpsIters: 20 },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

function didYouMean(key: string, known: string[]): string {
  const best = known.map((k) => [k, levenshtein(key.toLowerCase(), k.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, key.length / 3) ? `; did you mean "${best[0]}"?` : `; known keys: ${known.join(', ')}`;
}

const isPlain = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys whose value is free-form (backbone options differ per family). */
const OPEN = new Set(['model.backbone']);

/** Keys that moved, and where to: the old spelling is an error that names the new one. */
const MOVED: Readonly<Record<string, string>> = {
  'model.anchors': 'model.retinanet.anchors',
  'model.assign': 'model.retinanet.assign',
  'model.loss': 'model.retinanet.loss (YOLOX: model.yolox.loss)',
  'model.test': 'model.retinanet.test (YOLOX: model.yolox.test)',
};

function checkMoved(key: string, where: string): void {
  if (MOVED[key]) throw new Error(`${where}: config key "${key}" is now "${MOVED[key]}"`);
}

/** Deep-merges `over` into `base`, checking every key and type against `schema` (the defaults). */
export function mergeChecked(base: Json, over: Json, schema: Json, where: string): Json {
  if (!isPlain(over)) {
    if (schema !== undefined && schema !== null && typeof schema !== typeof over) {
      throw new Error(`${where}: expected ${Array.isArray(schema) ? 'a list' : typeof schema}, got ${JSON.stringify(over)}`);
    }
    if (Array.isArray(schema) && !Array.isArray(over)) throw new Error(`${where}: expected a list, got ${JSON.stringify(over)}`);
    return over;
  }
  if (schema !== undefined && !isPlain(schema)) throw new Error(`${where}: expected ${Array.isArray(schema) ? 'a list' : typeof schema}, got an object`);
  const out: Record<string, Json> = { ...(isPlain(base) ? base : {}) };
  for (const [k, v] of Object.entries(over)) {
    const sub = where ? `${where}.${k}` : k;
    checkMoved(sub, 'config');
    const s = isPlain(schema) ? schema[k] : undefined;
    if (k === '__proto__') throw new Error(`config key "${sub}" is not allowed`);
    if (isPlain(schema) && !Object.prototype.hasOwnProperty.call(schema, k) && !OPEN.has(where)) throw new Error(`unknown config key "${sub}"${didYouMean(k, Object.keys(schema))}`);
    out[k] = mergeChecked(out[k], v, OPEN.has(where) ? (isPlain(base) ? base[k] : undefined) as Json : (s as Json), sub);
  }
  return out;
}

export interface LoadedConfig {
  config: Config;
  /** The files read, base first. */
  files: string[];
}

/** A config is a small JSON file: the largest we ship is 2 KB. */
const MAX_CONFIG_BYTES = 2 ** 20;
/** Deepest nesting a config may have; the schema itself is 5 levels deep. */
const MAX_CONFIG_DEPTH = 32;

/** Refuses nesting deeper than `MAX_CONFIG_DEPTH`, walking with a stack of its own (no recursion over the file). */
function checkDepth(j: unknown, file: string): void {
  const stack: Array<[unknown, number]> = [[j, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > MAX_CONFIG_DEPTH) throw new Error(`${file}: nested more than ${MAX_CONFIG_DEPTH} levels deep; not a config`);
    for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
}

function readConfigFile(file: string): Record<string, Json> {
  let j: unknown;
  const text = readRegularFile(file, 'config', MAX_CONFIG_BYTES).toString('utf8');
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!isPlain(j)) throw new Error(`${file}: a config is a JSON object`);
  checkDepth(j, file);
  return j;
}

/** Parses `a.b=c` and coerces `c` to the type of the existing field. */
export function applySet(cfg: Config, expr: string): Config {
  const eq = expr.indexOf('=');
  if (eq < 1) throw new Error(`--set ${expr}: expected key.path=value`);
  const keys = expr.slice(0, eq).split('.'), raw = expr.slice(eq + 1);
  for (let i = 1; i <= keys.length; i++) checkMoved(keys.slice(0, i).join('.'), `--set ${expr}`);
  let schema: Json = DEFAULTS as unknown as Json, cur: Json = cfg as unknown as Json;
  for (const k of keys.slice(0, -1)) {
    if (!isPlain(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) throw new Error(`--set ${expr}: unknown config key "${k}"${isPlain(cur) ? didYouMean(k, Object.keys(cur)) : ''}`);
    cur = cur[k];
    schema = isPlain(schema) ? schema[k] : null;
  }
  const last = keys[keys.length - 1];
  if (!isPlain(cur)) throw new Error(`--set ${expr}: "${keys.slice(0, -1).join('.')}" is not a section`);
  const existing = cur[last];
  if (existing === undefined && !OPEN.has(keys.slice(0, -1).join('.'))) throw new Error(`--set ${expr}: unknown config key "${keys.join('.')}"${didYouMean(last, Object.keys(cur))}`);
  let value: Json;
  if (typeof existing === 'number') {
    value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`--set ${expr}: ${keys.join('.')} is a number, got "${raw}"`);
  } else if (typeof existing === 'boolean') {
    if (!['true', 'false', '1', '0'].includes(raw)) throw new Error(`--set ${expr}: ${keys.join('.')} is true or false, got "${raw}"`);
    value = raw === 'true' || raw === '1';
  } else if (Array.isArray(existing) || isPlain(existing)) {
    try { value = JSON.parse(raw); } catch { throw new Error(`--set ${expr}: ${keys.join('.')} takes JSON, got "${raw}"`); }
  } else if (existing === undefined) {
    try { value = JSON.parse(raw); } catch { value = raw; }
  } else value = raw;
  const over: Record<string, Json> = {};
  let node = over;
  keys.slice(0, -1).forEach((k) => { node = (node[k] = {}) as Record<string, Json>; });
  node[last] = value;
  return mergeChecked(cfg as unknown as Json, over, DEFAULTS as unknown as Json, '') as unknown as Config;
}

/**
 * Loads a config file (or the defaults when `file` is undefined), its bases,
 * then `--set`s. `extends` names one base file or a list of them (a model, a
 * dataset and a schedule, say), merged in order before the file itself; a
 * base cannot extend another (one level only).
 */
export function loadConfig(file: string | undefined, sets: string[] = []): LoadedConfig {
  let cfg = structuredClone(DEFAULTS) as unknown as Json;
  const files: string[] = [];
  if (file) {
    const own = readConfigFile(file);
    const { extends: ext, ...rest } = own;
    for (const baseFile of baseFiles(file, ext)) {
      const base = readConfigFile(baseFile);
      if ('extends' in base) throw new Error(`${baseFile}: a base config cannot extend another (one level only)`);
      cfg = mergeChecked(cfg, base, DEFAULTS as unknown as Json, '');
      files.push(baseFile);
    }
    cfg = mergeChecked(cfg, rest, DEFAULTS as unknown as Json, '');
    files.push(path.resolve(file));
  }
  let config = cfg as unknown as Config;
  for (const s of sets) config = applySet(config, s);
  return { config, files };
}

/** `extends` as absolute paths: absent, one path, or a list of paths, each relative to the file. */
function baseFiles(file: string, ext: Json | undefined): string[] {
  if (ext === undefined) return [];
  const list = Array.isArray(ext) ? ext : [ext];
  if (!list.length || list.some((e) => typeof e !== 'string' || e === '')) throw new Error(`${file}: "extends" must be a path or a list of paths`);
  const bad = (list as string[]).find((e) => !e.endsWith('.json'));
  if (bad !== undefined) throw new Error(`${file}: "extends" names ${JSON.stringify(bad)}; a base config is a .json file`);
  return (list as string[]).map((e) => path.resolve(path.dirname(file), e));
}

/** The resolved config as `key  value` rows, one per leaf. */
export function configTable(c: Config): string {
  const rows: Array<[string, string]> = [];
  const walk = (v: unknown, p: string): void => {
    if (isPlain(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else rows.push([p, JSON.stringify(v)]);
  };
  walk(c, '');
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
