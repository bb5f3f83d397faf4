/**
 * Inference speed: batch 1, eval mode with BN folded (on a copy of the
 * weights' effect: folding is done in place, so callers pass a model they no
 * longer train), warm-up then timed iterations, with and without
 * post-processing. Reports images/s; the backend is the caller's to name.
 */
import { tf } from '../engine/tf';
import type { Detector } from '../detectors/detector';
import { foldBatchNorms } from '../nn/fold_bn';

export interface FpsResult {
  inputSize: [number, number];
  /** Network forward only (all level maps read back). */
  forwardFps: number;
  /** Forward + decode + NMS. */
  inferenceFps: number;
  iters: number;
}

export function measureFps(model: Detector, height: number, width: number, iters = 20, warmup = 3): FpsResult {
  foldBatchNorms(model);
  const x = tf.randomUniform([1, height, width, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
  const meta = [{ id: 0, origWidth: width, origHeight: height, width, height, scaleX: 1, scaleY: 1, flipped: false }];
  const forward = (): void => tf.tidy(() => { Object.values(model.forward(x)).flat().forEach((t) => t.dataSync()); });
  const full = (): void => tf.tidy(() => { model.predict(model.forward(x), meta); });
  const time = (f: () => void): number => {
    for (let i = 0; i < warmup; i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) f();
    return iters / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const forwardFps = time(forward), inferenceFps = time(full);
  x.dispose();
  return { inputSize: [height, width], forwardFps: +forwardFps.toFixed(2), inferenceFps: +inferenceFps.toFixed(2), iters };
}
