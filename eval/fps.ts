/**
 * Inference speed: batch 1, eval mode with BN folded (on a copy of the
 * weights' effect: folding is done in place, so callers pass a model they no
 * longer train), warm-up then timed iterations, with and without
 * post-processing. Reports images/s; the backend is the caller's to name.
 */
import { tf } from '../engine/tf';
import { Detector, headTensors, readAll } from '../detectors/detector';
import { foldBatchNorms } from '../nn/fold_bn';

export interface FpsResult {
  inputSize: [number, number];
  /** Network forward only (all level maps read back). */
  forwardFps: number;
  /** Forward + decode + NMS. */
  inferenceFps: number;
  /** The same as milliseconds per image. */
  forwardMs: number;
  inferenceMs: number;
  iters: number;
}

/** Three significant digits: at 0.1 FPS two decimals would hide a 5 % difference. */
export const sig3 = (v: number): number => +v.toPrecision(3);

/** Reads the results asynchronously, as evaluation does: a GPU backend is timed to the end of its work, without a stall per map. */
export async function measureFps(model: Detector, height: number, width: number, iters = 20, warmup = 3): Promise<FpsResult> {
  foldBatchNorms(model);
  const x = tf.randomUniform([1, height, width, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
  const meta = [{ id: 0, origWidth: width, origHeight: height, width, height, scaleX: 1, scaleY: 1, flipped: false }];
  const forward = async (): Promise<void> => {
    const maps = headTensors(model.forward(x));
    await readAll(maps);
    tf.dispose(maps);
  };
  const full = async (): Promise<void> => {
    const out = model.forward(x);
    await model.predict(out, meta);
    tf.dispose(headTensors(out));
  };
  const time = async (f: () => Promise<void>): Promise<number> => {
    for (let i = 0; i < warmup; i++) await f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await f();
    return iters / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const forwardFps = await time(forward), inferenceFps = await time(full);
  x.dispose();
  return {
    inputSize: [height, width], forwardFps: sig3(forwardFps), inferenceFps: sig3(inferenceFps),
    forwardMs: sig3(1000 / forwardFps), inferenceMs: sig3(1000 / inferenceFps), iters,
  };
}
