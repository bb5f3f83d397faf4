/**
 * One optimisation step: forward + loss under the gradient tape, backward,
 * optional gradient-norm clipping, optimizer update. Everything created inside
 * is disposed; only the loss values come back, as numbers. Split in two
 * (`computeGrads`, `applyGrads`) so data-parallel training can average
 * gradients from several replicas in between.
 */
import { tf } from '../engine/tf';
import { sumOfSquares } from '../kernels/optimizer';
import type { Optimizer } from './optimizer';

export interface StepResult {
  /** Each named loss term and `loss`, their sum. */
  losses: Record<string, number>;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

export interface Gradients {
  losses: Record<string, number>;
  /** Aligned with the variables; undefined for a variable off the loss path (an unused branch). */
  grads: Array<tf.Tensor | undefined>;
}

/** Forward + backward: the named losses (and their sum `loss`) and the gradients of the sum. */
export function computeGrads(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[]): Gradients {
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    terms = lossFn();
    for (const t of Object.values(terms)) tf.keep(t);
    return tf.addN(Object.values(terms)) as tf.Scalar;
  }, vars);
  const losses: Record<string, number> = { loss: value.dataSync()[0] };
  for (const [k, t] of Object.entries(terms)) losses[k] = t.dataSync()[0];
  tf.dispose([value, ...Object.values(terms)]);
  return { losses, grads: vars.map((v) => grads[v.name]) };
}

/**
 * Clips to `maxGradNorm` (PyTorch `clip_grad_norm_`) and updates, unless the
 * loss or the norm is not finite. Disposes the gradients. Returns the norm before clipping.
 */
export function applyGrads(vars: tf.Variable[], grads: Array<tf.Tensor | undefined>, lossValue: number, opt: Optimizer, maxGradNorm?: number): number {
  const used = vars.filter((_, i) => grads[i]);
  const list = grads.filter((g): g is tf.Tensor => g !== undefined);
  const gradNorm = Math.sqrt(sumOfSquares(list));
  if (Number.isFinite(lossValue) && Number.isFinite(gradNorm)) {
    const scale = maxGradNorm && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
    opt.step(used, list, scale);
  }
  tf.dispose(list);
  return gradNorm;
}

/**
 * @param lossFn builds the named scalar losses; their sum is minimised.
 * @param vars the variables to update (frozen ones excluded by the caller).
 * @param maxGradNorm clip the global gradient norm to this, or undefined.
 */
export function trainStep(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[], opt: Optimizer, maxGradNorm?: number): StepResult {
  const g = computeGrads(lossFn, vars);
  const gradNorm = applyGrads(vars, g.grads, g.losses.loss, opt, maxGradNorm);
  return { losses: g.losses, gradNorm };
}
