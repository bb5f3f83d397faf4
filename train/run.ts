/**
 * Config → datasets, model, optimizer, hooks → a Trainer. What `ghostdet train`
 * and the main job run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { seedInit } from '../runtime/rng';
import { writeFileAtomic } from '../runtime/atomic_write';
import type { Config } from '../configs/schema';
import { buildDetector, ModelConfig } from '../detectors/build';
import { loadPretrained } from '../backbones/pretrained';
import type { Detector } from '../detectors/detector';
import { CocoDataset, loadCoco } from '../data/coco';
import { DataLoader, LoaderOptions } from '../data/loader';
import type { TransformOptions } from '../data/transforms';
import { SYNTH_DESCRIPTION, SynthInfo, synthInfo, synthesize } from '../data/synthetic';
import { Sgd } from '../train/sgd';
import { AdamW } from '../train/adamw';
import type { Optimizer } from '../train/optimizer';
import { readCheckpoint, restoreCheckpoint, TrainState } from './checkpoint';
import { CheckpointHook } from './checkpoint_hook';
import { EvalHook } from './eval_hook';
import { JsonLogHook } from './log_hook';
import { LeakGuardHook } from './leak_guard_hook';
import { ProgressHook } from './progress_hook';
import { EpochSummaryHook } from './epoch_summary_hook';
import { Trainer } from './trainer';
import { Ema } from './ema';
import { EmaHook } from './ema_hook';
import { ModeSwitchHook } from './mode_switch_hook';
import { writeCurve as writeCurveFiles } from './curve_svg';

export interface DataPaths { trainAnn: string; trainImages: string; valAnn: string; valImages: string }

/**
 * Resolves data paths. For `synthetic`: makes the dataset when absent; when it
 * was made with other options, makes it again under the work dir, but refuses
 * (never deletes) in a folder the user named with `data.root`.
 */
export function dataPaths(c: Config, workDir: string, log: (s: string) => void): DataPaths {
  const d = c.data;
  if (d.kind === 'synthetic') {
    const root = d.root ? path.resolve(d.root) : path.join(workDir, 'data');
    const p = { trainAnn: path.join(root, 'annotations/instances_train.json'), trainImages: path.join(root, 'train'), valAnn: path.join(root, 'annotations/instances_val.json'), valImages: path.join(root, 'val') };
    const want = { out: root, ...d.synthetic };
    const stale = staleSynthetic(p.trainAnn, synthInfo(want));
    if (stale && stale !== 'absent' && d.root) {
      // A folder the user named is theirs: report, never delete.
      throw new Error(`${p.trainAnn}: this synthetic dataset was made with other options than the config's data.synthetic (${stale}); remove the folder or change data.synthetic to match`);
    }
    if (stale || !fs.existsSync(p.valAnn)) {
      if (stale && stale !== 'absent') log(`the synthetic dataset in ${root} was made with other options (${stale}); making it again`);
      log(`making the synthetic shapes dataset in ${root} (${d.synthetic.images} train + ${d.synthetic.val} val images, ${d.synthetic.size}px, seed ${d.synthetic.seed})`);
      if (stale && stale !== 'absent') for (const sub of ['train', 'val', 'annotations']) fs.rmSync(path.join(root, sub), { recursive: true, force: true });
      synthesize(want);
    }
    return p;
  }
  const r = (f: string): string => path.resolve(d.root || '.', f);
  return { trainAnn: r(d.trainAnn), trainImages: r(d.trainImages), valAnn: r(d.valAnn), valImages: r(d.valImages) };
}

/**
 * Why the synthetic dataset at `annFile` does not match `want`: `absent`, the
 * differing options, or undefined when it matches. A file we did not make is
 * left alone (undefined): the user pointed `data.root` at it.
 */
function staleSynthetic(annFile: string, want: SynthInfo): string | undefined {
  if (!fs.existsSync(annFile)) return 'absent';
  let info: Partial<SynthInfo> | undefined;
  try {
    info = (JSON.parse(fs.readFileSync(annFile, 'utf8')) as { info?: Partial<SynthInfo> }).info;
  } catch {
    return undefined;
  }
  if (!info || info.description !== SYNTH_DESCRIPTION) return undefined;
  const diff = (Object.keys(want) as Array<keyof SynthInfo>).filter((k) => info![k] !== want[k]).map((k) => `${k} ${info![k]} → ${want[k]}`);
  return diff.length ? diff.join(', ') : undefined;
}

export function transformOf(c: Config): TransformOptions {
  const r = c.data.resize;
  return { resize: r.mode === 'square' ? { mode: 'square', size: r.size } : { mode: 'keepRatio', scale: r.scale }, sizeDivisor: c.data.sizeDivisor };
}

/** Mosaic and affine options of the training loader; their output size is the resize target. */
function augmentationOf(c: Config): { mosaic?: LoaderOptions['mosaic']; randomAffine?: LoaderOptions['randomAffine'] } {
  const r = c.data.resize;
  const size: [number, number] = r.mode === 'square' ? [r.size, r.size] : [r.scale[0], r.scale[1]];
  const m = c.data.mosaic, a = c.data.randomAffine;
  if (a.enabled && !m.enabled) throw new Error('data.randomAffine needs data.mosaic (it crops the 2× mosaic canvas back to the image size)');
  return {
    mosaic: m.enabled ? { size, prob: m.prob, centerRange: m.centerRange } : undefined,
    randomAffine: a.enabled ? { size, maxRotate: a.maxRotate, scaleRange: a.scaleRange, maxShear: a.maxShear, maxTranslate: a.maxTranslate } : undefined,
  };
}

/** Worker threads, prefetch and the bad-image limit of both loaders. */
function loadingOf(c: Config): Pick<LoaderOptions, 'workers' | 'prefetch' | 'maxBadFraction'> {
  return { workers: c.data.workers, prefetch: c.data.prefetch, maxBadFraction: c.data.maxBadFraction };
}

export function valLoader(c: Config, ds: CocoDataset): DataLoader {
  return new DataLoader(ds, { batchSize: c.eval.batchSize, train: false, transform: transformOf(c), ...loadingOf(c) });
}

export function loadSplit(c: Config, ann: string, images: string, train: boolean, log: (s: string) => void): CocoDataset {
  return loadCoco(ann, { imagesDir: images, checkFiles: c.data.checkFiles, filterEmpty: train && c.data.filterEmpty, log });
}

/** The model config with `numClasses` taken from the dataset when they disagree (the label map rules). */
export function modelFor(c: Config, numClasses: number): Detector {
  const m: ModelConfig = { ...c.model, numClasses };
  return buildDetector(m);
}

function makeOptimizer(c: Config, model: Detector): Optimizer {
  const t = c.train;
  const lr = (t.lr * t.batchSize) / t.lrBatch;
  const noDecay = new Set<tf.Variable>();
  if (t.noDecayOnNormAndBias) {
    for (const p of model.namedParameters()) if (p.variable.rank === 1) noDecay.add(p.variable);
  }
  const lrMult = new Map<tf.Variable, number>();
  if (t.backboneLrMult !== 1) for (const p of model.backbone.namedParameters()) lrMult.set(p.variable, t.backboneLrMult);
  return t.optimizer === 'adamw' ? new AdamW({ lr, weightDecay: t.weightDecay, noDecay, lrMult }) : new Sgd({ lr, momentum: t.momentum, weightDecay: t.weightDecay, noDecay, lrMult });
}

export interface TrainRun {
  model: Detector;
  optimizer(): Optimizer;
  trainer: Trainer;
  val: DataLoader;
  evalHook: EvalHook;
  log: JsonLogHook;
  train: CocoDataset;
  /** The weight average, when `train.ema.enabled`. */
  ema?: Ema;
}

/** Builds a ready-to-run trainer; `resumeFile` restores weights, optimizer, progress and hook state. */
export function prepareTraining(c: Config, workDir: string, resumeFile: string | undefined, print: (s: string) => void): TrainRun {
  const pretrained = c.model.backbone.pretrained;
  // Checked before the (possibly long) dataset load; read after the model is built.
  if (pretrained && !resumeFile && !fs.existsSync(pretrained)) throw new Error(`model.backbone.pretrained: ${pretrained}: no such file`);
  fs.mkdirSync(workDir, { recursive: true });
  writeFileAtomic(path.join(workDir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  const paths = dataPaths(c, workDir, print);
  const trainDs = loadSplit(c, paths.trainAnn, paths.trainImages, true, print);
  const valDs = loadSplit(c, paths.valAnn, paths.valImages, false, print);
  if (valDs.labels.catIds.join() !== trainDs.labels.catIds.join()) throw new Error(`train and val category ids differ (${trainDs.labels.catIds} vs ${valDs.labels.catIds})`);
  seedInit(c.train.seed);
  const modelConfig: ModelConfig = { ...c.model, numClasses: trainDs.labels.catIds.length };
  const model = buildDetector(modelConfig);
  const optimizer = makeOptimizer(c, model);
  let resume: TrainState | undefined;
  if (pretrained && !resumeFile) print(loadPretrained(model.backbone, path.resolve(pretrained), c.model.backbone.pretrainedKey).summary);
  // Made after the starting weights are in: its averages start from them.
  const ema = c.train.ema.enabled ? new Ema(model, c.train.ema) : undefined;
  if (resumeFile) {
    const ck = readCheckpoint(resumeFile);
    restoreCheckpoint(ck, model, optimizer, resumeFile, ema);
    resume = ck.state;
    print(`resumed from ${resumeFile}: epoch ${ck.state.epoch}, batch ${ck.state.batchInEpoch}, iteration ${ck.state.iter}`);
  }
  const loader = new DataLoader(trainDs, { batchSize: c.train.batchSize, train: true, seed: c.train.seed, flipProb: c.data.flipProb, transform: transformOf(c), ...augmentationOf(c), ...loadingOf(c) });
  if (loader.length === 0) throw new Error(`the training set has ${trainDs.images.length} images, fewer than one batch of ${c.train.batchSize}`);
  const val = valLoader(c, valDs);
  const log = new JsonLogHook(workDir, c.train.logEvery);
  const t = c.train;
  const evalHook = new EvalHook(val, t.evalEvery, log, print, ema);
  const trainer = new Trainer({
    model, loader, optimizer, epochs: t.epochs, gradClip: t.gradClip, workDir, config: c, resume, workers: t.workers, modelConfig,
    schedule: { baseLr: (t.lr * t.batchSize) / t.lrBatch, kind: t.schedule, steps: t.steps, gamma: t.gamma, warmupIters: t.warmupEpochs > 0 ? t.warmupEpochs * loader.length : t.warmupIters, warmupRatio: t.warmupRatio, epochs: t.epochs },
    hooks: [
      new ProgressHook(t.logEvery), log, new EpochSummaryHook(loader, log, print), new LeakGuardHook(), new ModeSwitchHook(c.model.yolox.loss.l1LastEpochs ?? 0, print, loader),
      ...(ema ? [new EmaHook(ema)] : []), evalHook, new CheckpointHook(t.checkpointEvery, evalHook, print, ema),
    ],
  });
  return { model, optimizer: () => optimizer, trainer, val, evalHook, log, train: trainDs, ema };
}

/** Writes the loss/mAP curve of this run (curve.svg and curve.png). */
export function writeCurve(run: TrainRun, workDir: string): string {
  return writeCurveFiles(path.join(workDir, 'curve.png'), run.log.records);
}
