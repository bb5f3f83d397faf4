/**
 * Exponential moving average of a model's weights, as mmdetection's
 * `ExpMomentumEMA` in the YOLOX recipe (the same curve as YOLOX's `ModelEMA`):
 * after each step, ema ← (1 − mₜ)·ema + mₜ·param with
 * mₜ = (1 − m)·exp(−(1 + t)/γ) + m, over parameters and buffers (BN
 * statistics too). Evaluation and the final model use the average; training
 * goes on from the raw weights.
 */
import { tf } from '../engine/tf';
import type { Module, NamedTensor } from '../nn/module';
import { blendInto } from '../kernels/weighted_sum';

export interface EmaOptions {
  /** m: the momentum it settles at (mmdetection YOLOX: 0.0001). */
  momentum?: number;
  /** γ: how many steps the warm-up of the momentum takes (2000). */
  gamma?: number;
}

export class Ema {
  readonly momentum: number;
  readonly gamma: number;
  /** Updates done. */
  steps = 0;
  private readonly tensors: NamedTensor[];
  private readonly shadow: tf.Variable[];

  constructor(model: Module, o: EmaOptions = {}) {
    this.momentum = o.momentum ?? 0.0001;
    this.gamma = o.gamma ?? 2000;
    this.tensors = model.namedTensors();
    this.shadow = this.tensors.map((t) => tf.variable(t.variable.clone(), false));
  }

  /** The momentum of update number `t` (0-based). */
  momentumAt(t: number): number {
    return (1 - this.momentum) * Math.exp(-(1 + t) / this.gamma) + this.momentum;
  }

  /** One update from the model's current weights. */
  update(): void {
    const m = this.momentumAt(this.steps);
    // Over the averages where they own their data, else one kernel call for the rest (kernels/weighted_sum.ts).
    blendInto(this.shadow.map((s, i) => [s, this.tensors[i].variable]), [1 - m, m]);
    this.steps++;
  }

  /** Exchanges the model's weights and the averages (call twice to undo). */
  swap(): void {
    tf.tidy(() => this.tensors.forEach((t, i) => {
      const raw = t.variable.clone();
      t.variable.assign(this.shadow[i]);
      this.shadow[i].assign(raw);
    }));
  }

  /** Runs `fn` with the averaged weights in the model, then puts the raw ones back. */
  withAveraged<T>(fn: () => T): T {
    this.swap();
    try {
      return fn();
    } finally {
      this.swap();
    }
  }

  /** As `withAveraged` for async work (evaluation streams its batches). */
  async withAveragedAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.swap();
    try {
      return await fn();
    } finally {
      this.swap();
    }
  }

  /** The averages by parameter name (for checkpoints). */
  named(): Array<{ name: string; value: tf.Variable }> {
    return this.tensors.map((t, i) => ({ name: t.name, value: this.shadow[i] }));
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
