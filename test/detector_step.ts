/**
 * One training step's inputs for the engine tests: a config's detector from
 * seed 0 in train mode, and two 64² images with two boxes each.
 */
import * as path from 'path';
import { tf } from '../engine/tf';
import { seedInit } from '../util/rng';
import { buildDetector } from '../detectors/build';
import { loadConfig } from '../configs/schema';
import { computeGrads, Gradients } from '../train/step';
import type { Detector } from '../detectors/detector';
import { seeded } from './helpers';

const CONFIGS = path.resolve(__dirname, '..', '..', 'configs');

/** Builds `configs/<config>`'s detector, runs forward + loss + backward on the batch, and hands both to `use` (then disposes them). */
export async function detectorStep<T>(config: string, use: (model: Detector, vars: tf.Variable[], g: Gradients) => T | Promise<T>): Promise<T> {
  const { config: c } = loadConfig(path.join(CONFIGS, config));
  seedInit(0);
  const model = buildDetector(c.model);
  model.train();
  const vars = model.trainableVariables();
  const targets = [0, 1].map(() => ({ boxes: new Float32Array([6, 8, 34, 40, 28, 30, 60, 56]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  const images = tf.tensor4d(seeded(2 * 64 * 64 * 3, 7), [2, 64, 64, 3]);
  try {
    const g = await computeGrads(() => model.loss(model.forward(images), targets), vars);
    try {
      return await use(model, vars, g);
    } finally {
      tf.dispose(g.grads.filter((t): t is tf.Tensor => t !== undefined));
    }
  } finally {
    images.dispose();
    model.dispose();
  }
}
