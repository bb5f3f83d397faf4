// Addressing shared by the SIMD kernels: pointers are byte offsets into the
// tfjs-wasm heap, indices count elements.

/** Address of float32 element `i` of the array at `base`. */
@inline export function f32At(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

/** Address of float64 element `i` of the array at `base`. */
@inline export function f64At(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

/** Int32 `i` of a kernel's geometry block at `g`. */
@inline export function geo(g: usize, i: i32): i32 {
  return load<i32>(g + (<usize>i << 2));
}

/** The upper two float32 lanes moved down, for `promote_low`. */
@inline export function high(v: v128): v128 {
  return i32x4.shuffle(v, v, 2, 3, 0, 1);
}

/** Address of NHWC row (b, iy, ix) (`base` = b·h) if it is inside the image, else `zeros` (a conv's padding). */
@inline export function rowAt(x: usize, zeros: usize, base: i32, iy: i32, ix: i32, h: i32, w: i32, rowBytes: usize): usize {
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) return zeros;
  return x + <usize>((base + iy) * w + ix) * rowBytes;
}

/** The first `lanes` (1–4) floats of `v` at d: a channel block cut short at the end of a row. */
@inline export function storeLanes(d: usize, v: v128, lanes: i32): void {
  if (lanes == 4) {
    v128.store(d, v);
    return;
  }
  store<f32>(d, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(d, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(d, f32x4.extract_lane(v, 2), 8);
}
