// The AdamW step and the sum of squares over flat float32 buffers, 4 values
// per vector: the step in float32 (as torch steps float32 parameters), the
// sum of squares accumulated in float64 (two lanes at a time).

import { f32At, high } from './heap';

/** Two float64x2 back into one float32x4. */
@inline function pack(lo: v128, hi: v128): v128 {
  const a = f32x4.demote_f64x2_zero(lo), b = f32x4.demote_f64x2_zero(hi);
  return i32x4.shuffle(a, b, 0, 1, 4, 5);
}

/** Σ x² in float64. */
export function sumSquares(x: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(f32At(x, i));
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(high(v));
    acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(f32At(x, i));
    s += v * v;
  }
  return s;
}

/**
 * torch.optim.AdamW's step in float32, as torch computes it for float32
 * parameters: g' = g·gradScale, m = β1·m + (1 − β1)·g',
 * v = β2·v + (1 − β2)·g'², p = p·decay − lr/bc1 · m / (√v / √bc2 + eps),
 * each operation rounded to float32 (no fused multiply-adds: the JS kernel
 * repeats these roundings exactly). Inputs p, g, m, v; outputs p2, m2, v2
 * (all `n` float32; an output may be its input).
 */
export function adamwStep(p: usize, g: usize, m: usize, v: usize, p2: usize, m2: usize, v2: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, decay: f64, bc1: f64, bc2: f64, gradScale: f64): void {
  const step = <f32>(lr / bc1), sqrtBc2 = <f32>Math.sqrt(bc2);
  const fb1 = <f32>beta1, fc1 = <f32>(1 - beta1), fb2 = <f32>beta2, fc2 = <f32>(1 - beta2);
  const fgs = <f32>gradScale, fdec = <f32>decay, feps = <f32>eps;
  const b1 = f32x4.splat(fb1), c1 = f32x4.splat(fc1), b2 = f32x4.splat(fb2), c2 = f32x4.splat(fc2);
  const gs = f32x4.splat(fgs), dec = f32x4.splat(fdec), st = f32x4.splat(step), sb = f32x4.splat(sqrtBc2), ep = f32x4.splat(feps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const pv = v128.load(f32At(p, i)), gv = f32x4.mul(v128.load(f32At(g, i)), gs), mv = v128.load(f32At(m, i)), vv = v128.load(f32At(v, i));
    const mNew = f32x4.add(f32x4.mul(b1, mv), f32x4.mul(c1, gv));
    const vNew = f32x4.add(f32x4.mul(b2, vv), f32x4.mul(c2, f32x4.mul(gv, gv)));
    v128.store(f32At(m2, i), mNew);
    v128.store(f32At(v2, i), vNew);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vNew), sb), ep);
    v128.store(f32At(p2, i), f32x4.sub(f32x4.mul(pv, dec), f32x4.mul(st, f32x4.div(mNew, denom))));
  }
  for (; i < n; i++) {
    const gi = load<f32>(f32At(g, i)) * fgs;
    const mi = fb1 * load<f32>(f32At(m, i)) + fc1 * gi;
    const vi = fb2 * load<f32>(f32At(v, i)) + fc2 * (gi * gi);
    const pi = load<f32>(f32At(p, i));
    store<f32>(f32At(m2, i), mi);
    store<f32>(f32At(v2, i), vi);
    store<f32>(f32At(p2, i), pi * fdec - step * (mi / (Mathf.sqrt(vi) / sqrtBc2 + feps)));
  }
}
