/**
 * AdamW (Loshchilov & Hutter) as `torch.optim.AdamW`: p ← p·(1 − lr·wd), then
 * the Adam step with bias-corrected moments. On wasm and cpu each tensor's
 * update is one pass (`kernels/optimizer.ts`), written over the
 * parameter and its moments where they own their data; elsewhere tfjs ops.
 */
import { tf } from '../engine/tf';
import type { Optimizer, OptimizerState } from './optimizer';
import { ADAMW_UPDATE, AdamWAttrs, adamwInPlace, optimizerKernelsHere } from '../kernels/optimizer';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  noDecay?: Set<tf.Variable>;
  /** Per-variable LR multipliers (PyTorch parameter groups); decay scales with the group's LR as in PyTorch. */
  lrMult?: Map<tf.Variable, number>;
}

export class AdamW implements Optimizer {
  lr: number;
  private t = 0;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;
  private readonly noDecay: Set<tf.Variable>;
  private readonly lrMult: Map<tf.Variable, number>;
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();

  constructor(o: AdamWOptions) {
    this.lr = o.lr;
    [this.b1, this.b2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.wd = o.weightDecay ?? 0.01;
    this.noDecay = o.noDecay ?? new Set();
    this.lrMult = o.lrMult ?? new Map();
  }

  step(vars: tf.Variable[], grads: tf.Tensor[], gradScale = 1): void {
    this.t++;
    const bc1 = 1 - this.b1 ** this.t, bc2 = 1 - this.b2 ** this.t;
    const fused = optimizerKernelsHere();
    tf.tidy(() => {
      vars.forEach((p, i) => {
        const g = !fused && gradScale !== 1 ? tf.mul(grads[i], gradScale) : grads[i];
        if (!this.m.has(p)) {
          this.m.set(p, tf.variable(tf.zerosLike(p), false));
          this.v.set(p, tf.variable(tf.zerosLike(p), false));
        }
        const m = this.m.get(p)!, v = this.v.get(p)!;
        const lr = this.lr * (this.lrMult.get(p) ?? 1);
        if (fused) {
          const attrs: AdamWAttrs = { lr, beta1: this.b1, beta2: this.b2, eps: this.eps, decay: this.wd && !this.noDecay.has(p) ? 1 - lr * this.wd : 1, bc1, bc2, gradScale };
          if (adamwInPlace(p, g, m, v, attrs)) return;
          const [p2, m2, v2] = tf.engine().runKernel(ADAMW_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          m.assign(m2);
          v.assign(v2);
          p.assign(p2);
          return;
        }
        m.assign(tf.add(tf.mul(m, this.b1), tf.mul(g, 1 - this.b1)));
        v.assign(tf.add(tf.mul(v, this.b2), tf.mul(tf.square(g), 1 - this.b2)));
        const decayed = this.wd && !this.noDecay.has(p) ? tf.mul(p, 1 - lr * this.wd) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    });
  }

  state(names: Map<tf.Variable, string>): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [p, m] of this.m) {
      const n = names.get(p);
      if (n) { slots[`${n}.exp_avg`] = m; slots[`${n}.exp_avg_sq`] = this.v.get(p)!; }
    }
    return { kind: 'adamw', lr: this.lr, slots, step: this.t };
  }

  restore(s: OptimizerState, byName: Map<string, tf.Variable>): void {
    this.lr = s.lr;
    this.t = s.step ?? 0;
    for (const [slot, value] of Object.entries(s.slots)) {
      const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(slot);
      const p = match && byName.get(match[1]);
      if (!match || !p) throw new Error(`optimizer state names unknown parameter ${slot}`);
      const map = match[2] === 'exp_avg' ? this.m : this.v;
      const old = map.get(p);
      if (old) old.assign(value); else map.set(p, tf.variable(value.clone(), false));
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}
