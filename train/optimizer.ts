import type { tf } from '../engine/tf';

/** Optimizer slots keyed `<parameter name>.<slot>`, so checkpoints can name them. */
export interface OptimizerState {
  kind: string;
  lr: number;
  slots: Record<string, tf.Tensor>;
  step?: number;
}

export interface Optimizer {
  /** Learning rate used by the next `step` (schedules set it). */
  lr: number;
  /** `gradScale` multiplies every gradient first (norm clipping), inside the update's own pass where it can. */
  step(vars: tf.Variable[], grads: tf.Tensor[], gradScale?: number): void;
  state(names: Map<tf.Variable, string>): OptimizerState;
  restore(s: OptimizerState, byName: Map<string, tf.Variable>): void;
  dispose(): void;
}
