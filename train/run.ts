/**
 * Config → datasets, model, optimizer, hooks → a Trainer. What `ghostdet train`
 * and the main job run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { seedInit } from '../util/rng';
import { writeFileAtomic } from '../util/atomic_write';
import type { Config } from '../configs/schema';
import { buildDetector, ModelConfig } from '../detectors/build';
import { loadPretrained } from '../backbones/pretrained';
import type { Detector } from '../detectors/detector';
import type { CocoDataset } from '../data/coco';
import type { DataLoader } from '../data/loader';
import { dataPaths, loadSplit, trainLoader, valLoader } from '../data/from_config';
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
import { Communicator, SingleProcess } from './communicator';
import { Ema } from './ema';
import { EmaHook } from './ema_hook';
import { ModeSwitchHook } from './mode_switch_hook';
import { writeCurve as writeCurveFiles } from './curve_svg';

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
export function prepareTraining(c: Config, workDir: string, resumeFile: string | undefined, print: (s: string) => void, comm: Communicator = new SingleProcess()): TrainRun {
  const lead = comm.rank === 0;
  const pretrained = c.model.backbone.pretrained;
  // Checked before the (possibly long) dataset load; read after the model is built.
  if (pretrained && !resumeFile && !fs.existsSync(pretrained)) throw new Error(`model.backbone.pretrained: ${pretrained}: no such file`);
  fs.mkdirSync(workDir, { recursive: true });
  if (lead) writeFileAtomic(path.join(workDir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  // Rank 0 writes the synthetic dataset when it is missing; the others read it once it is there.
  if (!lead) comm.barrier();
  const paths = dataPaths(c.data, workDir, print);
  if (lead) comm.barrier();
  const trainDs = loadSplit(c.data, paths.trainAnn, paths.trainImages, true, print);
  const valDs = loadSplit(c.data, paths.valAnn, paths.valImages, false, print);
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
  const loader = trainLoader(c.data, c.train.batchSize, c.train.seed, trainDs);
  if (loader.length === 0) throw new Error(`the training set has ${trainDs.images.length} images, fewer than one batch of ${c.train.batchSize}`);
  const val = valLoader(c.data, c.eval.batchSize, valDs);
  const log = new JsonLogHook(workDir, c.train.logEvery);
  const t = c.train;
  const evalHook = new EvalHook(val, t.evalEvery, log, print, ema, comm);
  const trainer = new Trainer({
    model, loader, optimizer, epochs: t.epochs, gradClip: t.gradClip, workDir, config: c, resume, workers: t.workers, modelConfig,
    schedule: { baseLr: (t.lr * t.batchSize) / t.lrBatch, kind: t.schedule, steps: t.steps, gamma: t.gamma, warmupIters: t.warmupEpochs > 0 ? t.warmupEpochs * loader.length : t.warmupIters, warmupRatio: t.warmupRatio, epochs: t.epochs },
    comm,
    // Rank 0 alone logs and writes; every rank evaluates its share, switches YOLOX's schedule and guards its own memory.
    hooks: lead ? [
      new ProgressHook(t.logEvery), log, new EpochSummaryHook(loader, log, print), new LeakGuardHook(), new ModeSwitchHook(c.model.yolox.loss.l1LastEpochs ?? 0, print, loader),
      ...(ema ? [new EmaHook(ema)] : []), evalHook, new CheckpointHook(t.checkpointEvery, evalHook, print, ema),
    ] : [new LeakGuardHook(), new ModeSwitchHook(c.model.yolox.loss.l1LastEpochs ?? 0, print, loader), evalHook],
  });
  return { model, optimizer: () => optimizer, trainer, val, evalHook, log, train: trainDs, ema };
}

/** Writes the loss/mAP curve of this run (curve.svg and curve.png). */
export function writeCurve(run: TrainRun, workDir: string): string {
  return writeCurveFiles(path.join(workDir, 'curve.png'), run.log.records);
}
