/**
 * One optimisation step: forward + loss under the gradient tape, backward,
 * optional gradient-norm clipping, optimizer update. Everything created inside
 * is disposed; only the loss values come back, as numbers.
 *
 * Values come off the device only through asynchronous reads, and
 * `trainStep` makes one per step (the losses and Σg² together): a GPU backend
 * is never stalled mid-step, and tfjs-webgpu under Node cannot read
 * synchronously at all. `computeGrads` and `applyGrads` split the step so
 * data-parallel training can average gradients from several replicas in
 * between (one read each).
 */
import { tf } from '../engine/tf';
import { sumOfSquaresTensor } from '../kernels/optimizer';
import type { Optimizer } from './optimizer';

export interface StepResult {
  /** Each named loss term and `loss`, their sum. */
  losses: Record<string, number>;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Seconds in the all-reduce across processes, when there is one. */
  allreduceSeconds?: number;
}

export interface Gradients {
  losses: Record<string, number>;
  /** Seconds in the all-reduce across processes, when there is one. */
  allreduceSeconds?: number;
  /** Aligned with the variables; undefined for a variable off the loss path (an unused branch). */
  grads: Array<tf.Tensor | undefined>;
}

interface Taped {
  /** `loss` (the sum) first, then each named term. */
  names: string[];
  scalars: tf.Scalar[];
  grads: Array<tf.Tensor | undefined>;
}

/** Forward + backward on the tape; nothing is read from the device. */
function tape(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[]): Taped {
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    terms = lossFn();
    for (const t of Object.values(terms)) tf.keep(t);
    return tf.addN(Object.values(terms)) as tf.Scalar;
  }, vars);
  return { names: ['loss', ...Object.keys(terms)], scalars: [value, ...Object.values(terms)], grads: vars.map((v) => grads[v.name]) };
}

/** The values of scalar tensors, in one asynchronous read; the tensors are disposed. */
export async function readScalars(scalars: tf.Scalar[]): Promise<number[]> {
  const packed = tf.tidy(() => tf.stack(scalars));
  tf.dispose(scalars);
  const values = await packed.data();
  packed.dispose();
  return Array.from(values);
}

const named = (names: string[], values: number[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, values[i]]));

/** Forward + backward: the named losses (and their sum `loss`) and the gradients of the sum. */
export async function computeGrads(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[]): Promise<Gradients> {
  const t = tape(lossFn, vars);
  return { losses: named(t.names, await readScalars(t.scalars)), grads: t.grads };
}

/**
 * Clips to `maxGradNorm` (PyTorch `clip_grad_norm_`) and updates, unless the
 * loss or the norm is not finite. Disposes the gradients.
 */
function update(vars: tf.Variable[], grads: Array<tf.Tensor | undefined>, lossValue: number, gradNorm: number, opt: Optimizer, maxGradNorm?: number): void {
  const used = vars.filter((_, i) => grads[i]);
  const list = grads.filter((g): g is tf.Tensor => g !== undefined);
  if (Number.isFinite(lossValue) && Number.isFinite(gradNorm)) {
    const scale = maxGradNorm && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
    opt.step(used, list, scale);
  }
  tf.dispose(list);
}

/** Reads the gradients' norm, then clips and updates (see `update`). Returns the norm before clipping. */
export async function applyGrads(vars: tf.Variable[], grads: Array<tf.Tensor | undefined>, lossValue: number, opt: Optimizer, maxGradNorm?: number): Promise<number> {
  const [sumSq] = await readScalars([sumOfSquaresTensor(grads.filter((g): g is tf.Tensor => g !== undefined))]);
  const gradNorm = Math.sqrt(sumSq);
  update(vars, grads, lossValue, gradNorm, opt, maxGradNorm);
  return gradNorm;
}

/**
 * @param lossFn builds the named scalar losses; their sum is minimised.
 * @param vars the variables to update (frozen ones excluded by the caller).
 * @param maxGradNorm clip the global gradient norm to this, or undefined.
 */
export async function trainStep(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[], opt: Optimizer, maxGradNorm?: number): Promise<StepResult> {
  const t = tape(lossFn, vars);
  const sumSq = sumOfSquaresTensor(t.grads.filter((g): g is tf.Tensor => g !== undefined));
  const values = await readScalars([...t.scalars, sumSq]);
  const losses = named(t.names, values);
  const gradNorm = Math.sqrt(values[values.length - 1]);
  update(vars, t.grads, losses.loss, gradNorm, opt, maxGradNorm);
  return { losses, gradNorm };
}
