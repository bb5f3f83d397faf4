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
