/**
 * SGD with momentum and weight decay, as `torch.optim.SGD`:
 * g ← ∇ + wd·p;  v ← μ·v + g (v = g on the first step);  p ← p − lr·v.
 */
import { tf } from '../engine/tf';
import type { Optimizer, OptimizerState } from './optimizer';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /** Variables exempt from weight decay (BN and bias when `noDecayOnNormAndBias`). */
  noDecay?: Set<tf.Variable>;
  /** Per-variable LR multipliers (PyTorch parameter groups; e.g. the backbone at 0.1). */
  lrMult?: Map<tf.Variable, number>;
}

export class Sgd implements Optimizer {
  lr: number;
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly noDecay: Set<tf.Variable>;
  private readonly lrMult: Map<tf.Variable, number>;
  private readonly buffers = new Map<tf.Variable, tf.Variable>();

  constructor(o: SgdOptions) {
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.noDecay = o.noDecay ?? new Set();
    this.lrMult = o.lrMult ?? new Map();
  }

  /** Applies one update; `grads` is aligned with `vars` and is not disposed here. */
  step(vars: tf.Variable[], grads: tf.Tensor[], gradScale = 1): void {
    tf.tidy(() => {
      vars.forEach((p, i) => {
        let g = gradScale === 1 ? grads[i] : tf.mul(grads[i], gradScale);
        if (this.weightDecay && !this.noDecay.has(p)) g = tf.add(g, tf.mul(p, this.weightDecay));
        if (this.momentum) {
          const buf = this.buffers.get(p);
          if (!buf) {
            this.buffers.set(p, tf.variable(g, false));
            g = this.buffers.get(p)!;
          } else {
            buf.assign(tf.add(tf.mul(buf, this.momentum), g));
            g = buf;
          }
        }
        p.assign(tf.sub(p, tf.mul(g, this.lr * (this.lrMult.get(p) ?? 1))));
      });
    });
  }

  state(names: Map<tf.Variable, string>): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [v, buf] of this.buffers) {
      const n = names.get(v);
      if (n) slots[`${n}.momentum_buffer`] = buf;
    }
    return { kind: 'sgd', lr: this.lr, slots };
  }

  restore(s: OptimizerState, byName: Map<string, tf.Variable>): void {
    this.lr = s.lr;
    for (const [slot, value] of Object.entries(s.slots)) {
      const v = byName.get(slot.replace(/\.momentum_buffer$/, ''));
      if (!v) throw new Error(`optimizer state names unknown parameter ${slot}`);
      const old = this.buffers.get(v);
      if (old) old.assign(value); else this.buffers.set(v, tf.variable(value.clone(), false));
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
