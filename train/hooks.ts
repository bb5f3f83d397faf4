/**
 * Trainer hooks (detectron2's idea): everything around the step — progress,
 * logs, checkpoints, evaluation — is a hook with optional callbacks and, when it
 * keeps state, `state()`/`restore()` so resume restores it too.
 */
import type { Detector } from '../detectors/detector';
import type { Optimizer } from './optimizer';
import type { TrainState } from './checkpoint';

export interface TrainContext {
  model: Detector;
  optimizer: Optimizer;
  workDir: string;
  /** Epochs fully done / batches done in the current epoch / global iterations done. */
  epoch: number;
  batchInEpoch: number;
  iter: number;
  epochs: number;
  itersPerEpoch: number;
  lr: number;
  /** Set by a hook to stop after the current step (Ctrl-C). */
  stopRequested: boolean;
  /** Snapshot of everything a checkpoint needs. */
  snapshot(): TrainState;
}

export interface StepMetrics {
  losses: Record<string, number>;
  gradNorm: number;
  lr: number;
  images: number;
  seconds: number;
  /** Seconds this step spent in the all-reduce across processes (`--launcher mpi` only). */
  allreduceSeconds?: number;
}

export interface Hook {
  readonly name: string;
  beforeTrain?(c: TrainContext): void | Promise<void>;
  afterStep?(c: TrainContext, m: StepMetrics): void | Promise<void>;
  afterEpoch?(c: TrainContext): void | Promise<void>;
  /** Runs in `finally`: `err` is set when training failed. */
  afterTrain?(c: TrainContext, err?: unknown): void | Promise<void>;
  state?(): Record<string, unknown>;
  restore?(s: Record<string, unknown>): void;
}
