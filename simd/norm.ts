// Normalisation + affine (+ ReLU) loops over an NHWC activation viewed as
// `rows` rows of `c` channels, 4 channels per SIMD vector, scalar for the
// rest. Sums are float64 (as the JS kernels): a float32 Σx² over 10⁵ values
// would lose the variance of a channel whose mean is large. All pointers are
// byte offsets into the tfjs-wasm heap; nothing here allocates.

import { f32At, f64At, high } from './heap';

/** Rows per block: a block's rows stay in L1 while each 4-channel column of it is summed in registers. */
const BLOCK: i32 = 32;

/** Per channel j: sum[j] += Σ x[i, j], sumSq[j] += Σ x[i, j]² (float64 accumulators, added to, row by row in order). */
export function normMoments(x: usize, rows: i32, c: i32, sum: usize, sumSq: usize): void {
  const c4 = c & ~3, rowBytes = <usize>c << 2;
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const i1 = min(rows, i0 + BLOCK);
    for (let j = 0; j < c4; j += 4) {
      // The accumulators in registers over the block; the same additions, in the same order, as one row at a time.
      const sa = f64At(sum, j), qa = f64At(sumSq, j);
      let s0 = v128.load(sa), s1 = v128.load(sa, 16), q0 = v128.load(qa), q1 = v128.load(qa, 16);
      let p = f32At(x, i0 * c + j);
      for (let i = i0; i < i1; i++, p += rowBytes) {
        const v = v128.load(p);
        const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(high(v));
        s0 = f64x2.add(s0, lo); s1 = f64x2.add(s1, hi);
        q0 = f64x2.add(q0, f64x2.mul(lo, lo)); q1 = f64x2.add(q1, f64x2.mul(hi, hi));
      }
      v128.store(sa, s0); v128.store(sa, s1, 16); v128.store(qa, q0); v128.store(qa, q1, 16);
    }
    for (let j = c4; j < c; j++) {
      let s = load<f64>(f64At(sum, j)), q = load<f64>(f64At(sumSq, j));
      for (let i = i0; i < i1; i++) {
        const v = <f64>load<f32>(f32At(x, i * c + j));
        s += v;
        q += v * v;
      }
      store<f64>(f64At(sum, j), s);
      store<f64>(f64At(sumSq, j), q);
    }
  }
}

/** y = x·scale + shift per channel (float32 scale, shift), then max(·, 0) when `relu`. */
export function normApply(x: usize, y: usize, rows: i32, c: i32, scale: usize, shift: usize, relu: bool): void {
  const c4 = c & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < rows; i++) {
    const xr = f32At(x, i * c), yr = f32At(y, i * c);
    let j = 0;
    for (; j < c4; j += 4) {
      const v = f32x4.add(f32x4.mul(v128.load(f32At(xr, j)), v128.load(f32At(scale, j))), v128.load(f32At(shift, j)));
      v128.store(f32At(yr, j), relu ? f32x4.max(v, zero) : v);
    }
    for (; j < c; j++) {
      const v = load<f32>(f32At(xr, j)) * load<f32>(f32At(scale, j)) + load<f32>(f32At(shift, j));
      store<f32>(f32At(yr, j), relu ? max(v, 0) : v);
    }
  }
}

/** dy where the forward's ReLU let the value through (x·scale + shift > 0), all of dy without ReLU. */
@inline function passed(dy: v128, x: v128, scale: v128, shift: v128, relu: bool): v128 {
  return relu ? v128.and(dy, f32x4.gt(f32x4.add(f32x4.mul(x, scale), shift), f32x4.splat(0))) : dy;
}

@inline function passedScalar(dy: f32, x: f32, scale: f32, shift: f32, relu: bool): f32 {
  return relu && !(x * scale + shift > 0) ? 0 : dy;
}

/** Per channel: s1[j] += Σ g, sx[j] += Σ g·x, with g = dy masked by the ReLU (float64 accumulators, row by row in order). */
export function normGradSums(dy: usize, x: usize, rows: i32, c: i32, scale: usize, shift: usize, relu: bool, s1: usize, sx: usize): void {
  const c4 = c & ~3, rowBytes = <usize>c << 2;
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const i1 = min(rows, i0 + BLOCK);
    for (let j = 0; j < c4; j += 4) {
      const sa = f64At(s1, j), xa = f64At(sx, j);
      let a0 = v128.load(sa), a1 = v128.load(sa, 16), b0 = v128.load(xa), b1 = v128.load(xa, 16);
      const sc = v128.load(f32At(scale, j)), sh = v128.load(f32At(shift, j));
      let pd = f32At(dy, i0 * c + j), px = f32At(x, i0 * c + j);
      for (let i = i0; i < i1; i++, pd += rowBytes, px += rowBytes) {
        const xv = v128.load(px);
        const g = passed(v128.load(pd), xv, sc, sh, relu);
        const glo = f64x2.promote_low_f32x4(g), ghi = f64x2.promote_low_f32x4(high(g));
        a0 = f64x2.add(a0, glo); a1 = f64x2.add(a1, ghi);
        b0 = f64x2.add(b0, f64x2.mul(glo, f64x2.promote_low_f32x4(xv))); b1 = f64x2.add(b1, f64x2.mul(ghi, f64x2.promote_low_f32x4(high(xv))));
      }
      v128.store(sa, a0); v128.store(sa, a1, 16); v128.store(xa, b0); v128.store(xa, b1, 16);
    }
    for (let j = c4; j < c; j++) {
      let a = load<f64>(f64At(s1, j)), b = load<f64>(f64At(sx, j));
      const sc = load<f32>(f32At(scale, j)), sh = load<f32>(f32At(shift, j));
      for (let i = i0; i < i1; i++) {
        const xv = load<f32>(f32At(x, i * c + j));
        const g = <f64>passedScalar(load<f32>(f32At(dy, i * c + j)), xv, sc, sh, relu);
        a += g;
        b += g * <f64>xv;
      }
      store<f64>(f64At(s1, j), a);
      store<f64>(f64At(sx, j), b);
    }
  }
}

/** dx = k1·g + k2·x + k3 per channel (float32 k), g as in `normGradSums`. */
export function normGradInput(dy: usize, x: usize, dx: usize, rows: i32, c: i32, scale: usize, shift: usize, relu: bool, k1: usize, k2: usize, k3: usize): void {
  const c4 = c & ~3;
  for (let i = 0; i < rows; i++) {
    const dr = f32At(dy, i * c), xr = f32At(x, i * c), or = f32At(dx, i * c);
    let j = 0;
    for (; j < c4; j += 4) {
      const xv = v128.load(f32At(xr, j));
      const g = passed(v128.load(f32At(dr, j)), xv, v128.load(f32At(scale, j)), v128.load(f32At(shift, j)), relu);
      const v = f32x4.add(f32x4.add(f32x4.mul(v128.load(f32At(k1, j)), g), f32x4.mul(v128.load(f32At(k2, j)), xv)), v128.load(f32At(k3, j)));
      v128.store(f32At(or, j), v);
    }
    for (; j < c; j++) {
      const xv = load<f32>(f32At(xr, j));
      const g = passedScalar(load<f32>(f32At(dr, j)), xv, load<f32>(f32At(scale, j)), load<f32>(f32At(shift, j)), relu);
      store<f32>(f32At(or, j), load<f32>(f32At(k1, j)) * g + load<f32>(f32At(k2, j)) * xv + load<f32>(f32At(k3, j)));
    }
  }
}
