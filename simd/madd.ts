// The multiply-add of the GEMM micro-kernels (conv_gemm.ts, winograd.ts).

/** a·b + c, fused where the build has relaxed SIMD and the CPU an FMA. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
