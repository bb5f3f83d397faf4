/**
 * Learning-rate schedules as pure functions of (iteration, epoch), mmdetection
 * style: linear warmup from `warmupRatio·lr` over `warmupIters` iterations,
 * then step decay at the given epochs (×gamma each) or cosine to 0 over all
 * iterations. Pure functions make resume exact: the LR is recomputed, not stored.
 */
export interface ScheduleOptions {
  baseLr: number;
  kind: 'step' | 'cosine';
  /** Epochs (0-based count of finished epochs) at which the LR is multiplied by gamma. */
  steps: number[];
  gamma: number;
  warmupIters: number;
  warmupRatio: number;
  itersPerEpoch: number;
  epochs: number;
}

/** LR for global iteration `iter` (0-based) in epoch `epoch` (0-based). */
export function lrAt(o: ScheduleOptions, iter: number, epoch: number): number {
  let lr: number;
  if (o.kind === 'step') {
    lr = o.baseLr * o.gamma ** o.steps.filter((s) => epoch >= s).length;
  } else {
    const total = Math.max(1, o.itersPerEpoch * o.epochs);
    lr = 0.5 * o.baseLr * (1 + Math.cos((Math.PI * Math.min(iter, total)) / total));
  }
  if (iter < o.warmupIters) {
    // mmcv 'linear' warmup: k = (1 − iter/warmup)·(1 − ratio); lr·(1 − k).
    const k = (1 - iter / o.warmupIters) * (1 - o.warmupRatio);
    lr *= 1 - k;
  }
  return lr;
}
