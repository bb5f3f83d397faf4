/**
 * One optimisation step: forward + loss under the gradient tape, backward,
 * optional gradient-norm clipping, optimizer update. Everything created inside
 * is disposed; only the loss values come back, as numbers.
 */
import { tf } from '../runtime/tf';
import type { Optimizer } from './optimizer';

export interface StepResult {
  /** Each named loss term and `loss`, their sum. */
  losses: Record<string, number>;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/**
 * @param lossFn builds the named scalar losses; their sum is minimised.
 * @param vars the variables to update (frozen ones excluded by the caller).
 * @param maxGradNorm clip the global gradient norm to this (PyTorch `clip_grad_norm_`), or undefined.
 */
export function trainStep(lossFn: () => Record<string, tf.Scalar>, vars: tf.Variable[], opt: Optimizer, maxGradNorm?: number): StepResult {
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    terms = lossFn();
    for (const t of Object.values(terms)) tf.keep(t);
    return tf.addN(Object.values(terms)) as tf.Scalar;
  }, vars);
  const losses: Record<string, number> = { loss: value.dataSync()[0] };
  for (const [k, t] of Object.entries(terms)) losses[k] = t.dataSync()[0];
  // A variable off the loss path (an unused branch) gets no gradient and no update.
  const used = vars.filter((v) => grads[v.name]);
  const list = used.map((v) => grads[v.name]);
  const gradNorm = tf.tidy(() => Math.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
  if (Number.isFinite(losses.loss) && Number.isFinite(gradNorm)) {
    const scale = maxGradNorm && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
    if (scale !== 1) {
      const clipped = list.map((g) => tf.mul(g, scale));
      opt.step(used, clipped);
      tf.dispose(clipped);
    } else {
      opt.step(used, list);
    }
  }
  tf.dispose([value, ...list, ...Object.values(terms)]);
  return { losses, gradNorm };
}
