// Normalisation + affine (+ ReLU) loops over an NHWC activation viewed as
// `rows` rows of `c` channels, 4 channels per SIMD vector, scalar for the
// rest. Sums are float64 (as the JS kernels): a float32 Σx² over 10⁵ values
// would lose the variance of a channel whose mean is large. All pointers are
// byte offsets into the tfjs-wasm heap; nothing here allocates.

import { f32At, f64At, high } from './heap';

/** Adds a float32x4 (as two float64x2) into the float64 accumulators at `acc`. */
@inline function accumulate(acc: usize, v: v128): void {
  v128.store(acc, f64x2.add(v128.load(acc), f64x2.promote_low_f32x4(v)));
  v128.store(acc, f64x2.add(v128.load(acc, 16), f64x2.promote_low_f32x4(high(v))), 16);
}

/** Adds the products of two float32x4, taken in float64, into the accumulators at `acc`. */
@inline function accumulateProduct(acc: usize, a: v128, b: v128): void {
  v128.store(acc, f64x2.add(v128.load(acc), f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b))));
  v128.store(acc, f64x2.add(v128.load(acc, 16), f64x2.mul(f64x2.promote_low_f32x4(high(a)), f64x2.promote_low_f32x4(high(b)))), 16);
}

/** Per channel j: sum[j] += Σ x[i, j], sumSq[j] += Σ x[i, j]² (float64 accumulators, added to). */
export function normMoments(x: usize, rows: i32, c: i32, sum: usize, sumSq: usize): void {
  const c4 = c & ~3;
  for (let i = 0; i < rows; i++) {
    const row = f32At(x, i * c);
    let j = 0;
    for (; j < c4; j += 4) {
      const v = v128.load(f32At(row, j));
      accumulate(f64At(sum, j), v);
      accumulateProduct(f64At(sumSq, j), v, v);
    }
    for (; j < c; j++) {
      const v = <f64>load<f32>(f32At(row, j));
      store<f64>(f64At(sum, j), load<f64>(f64At(sum, j)) + v);
      store<f64>(f64At(sumSq, j), load<f64>(f64At(sumSq, j)) + v * v);
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

/** Per channel: s1[j] += Σ g, sx[j] += Σ g·x, with g = dy masked by the ReLU (float64 accumulators). */
export function normGradSums(dy: usize, x: usize, rows: i32, c: i32, scale: usize, shift: usize, relu: bool, s1: usize, sx: usize): void {
  const c4 = c & ~3;
  for (let i = 0; i < rows; i++) {
    const dr = f32At(dy, i * c), xr = f32At(x, i * c);
    let j = 0;
    for (; j < c4; j += 4) {
      const xv = v128.load(f32At(xr, j));
      const g = passed(v128.load(f32At(dr, j)), xv, v128.load(f32At(scale, j)), v128.load(f32At(shift, j)), relu);
      accumulate(f64At(s1, j), g);
      accumulateProduct(f64At(sx, j), g, xv);
    }
    for (; j < c; j++) {
      const xv = load<f32>(f32At(xr, j));
      const g = <f64>passedScalar(load<f32>(f32At(dr, j)), xv, load<f32>(f32At(scale, j)), load<f32>(f32At(shift, j)), relu);
      store<f64>(f64At(s1, j), load<f64>(f64At(s1, j)) + g);
      store<f64>(f64At(sx, j), load<f64>(f64At(sx, j)) + g * <f64>xv);
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
