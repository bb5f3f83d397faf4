// The AdamW step and the sum of squares over flat float32 buffers, 4 values
// per vector, arithmetic in float64 (two lanes at a time) as the JS kernels
// and torch's float64 reference the tests compare against.

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
 * torch.optim.AdamW's step: g' = g·gradScale, m = β1·m + (1 − β1)·g',
 * v = β2·v + (1 − β2)·g'², p = p·decay − lr/bc1 · m / (√v / √bc2 + eps).
 * Inputs p, g, m, v; outputs p2, m2, v2 (all `n` float32).
 */
export function adamwStep(p: usize, g: usize, m: usize, v: usize, p2: usize, m2: usize, v2: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, decay: f64, bc1: f64, bc2: f64, gradScale: f64): void {
  const step = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
  let i = 0;
  const b1 = f64x2.splat(beta1), c1 = f64x2.splat(1 - beta1), b2 = f64x2.splat(beta2), c2 = f64x2.splat(1 - beta2);
  const gs = f64x2.splat(gradScale), dec = f64x2.splat(decay), st = f64x2.splat(step), sb = f64x2.splat(sqrtBc2), ep = f64x2.splat(eps);
  for (; i + 4 <= n; i += 4) {
    const pv = v128.load(f32At(p, i)), gv = v128.load(f32At(g, i)), mv = v128.load(f32At(m, i)), vv = v128.load(f32At(v, i));
    // Low and high halves, each as float64x2.
    const gLo = f64x2.mul(f64x2.promote_low_f32x4(gv), gs), gHi = f64x2.mul(f64x2.promote_low_f32x4(high(gv)), gs);
    const mNew = pack(
      f64x2.add(f64x2.mul(b1, f64x2.promote_low_f32x4(mv)), f64x2.mul(c1, gLo)),
      f64x2.add(f64x2.mul(b1, f64x2.promote_low_f32x4(high(mv))), f64x2.mul(c1, gHi)));
    const vNew = pack(
      f64x2.add(f64x2.mul(b2, f64x2.promote_low_f32x4(vv)), f64x2.mul(c2, f64x2.mul(gLo, gLo))),
      f64x2.add(f64x2.mul(b2, f64x2.promote_low_f32x4(high(vv))), f64x2.mul(c2, f64x2.mul(gHi, gHi))));
    v128.store(f32At(m2, i), mNew);
    v128.store(f32At(v2, i), vNew);
    // The update reads m and v as stored (float32), as the JS kernel does.
    const pLo = f64x2.sub(f64x2.mul(f64x2.promote_low_f32x4(pv), dec),
      f64x2.mul(st, f64x2.div(f64x2.promote_low_f32x4(mNew), f64x2.add(f64x2.div(f64x2.sqrt(f64x2.promote_low_f32x4(vNew)), sb), ep))));
    const pHi = f64x2.sub(f64x2.mul(f64x2.promote_low_f32x4(high(pv)), dec),
      f64x2.mul(st, f64x2.div(f64x2.promote_low_f32x4(high(mNew)), f64x2.add(f64x2.div(f64x2.sqrt(f64x2.promote_low_f32x4(high(vNew))), sb), ep))));
    v128.store(f32At(p2, i), pack(pLo, pHi));
  }
  for (; i < n; i++) {
    const gi = <f64>load<f32>(f32At(g, i)) * gradScale;
    const mi = <f32>(beta1 * <f64>load<f32>(f32At(m, i)) + (1 - beta1) * gi);
    const vi = <f32>(beta2 * <f64>load<f32>(f32At(v, i)) + (1 - beta2) * gi * gi);
    store<f32>(f32At(m2, i), mi);
    store<f32>(f32At(v2, i), vi);
    store<f32>(f32At(p2, i), <f32>(<f64>load<f32>(f32At(p, i)) * decay - step * (<f64>mi / (Math.sqrt(<f64>vi) / sqrtBc2 + eps))));
  }
}
