/** The shared control block between engine/simd_helper.ts and its worker: int32 slots, then float64 arguments (heap addresses fit exactly). */
export const CONTROL = { seq: 0, done: 1, fn: 2, failed: 3, ready: 4, ints: 6, args: 6 } as const;

/** The kernels the helper runs, by index: the forward conv GEMM and the Winograd convs (simd/conv_gemm.ts, simd/winograd.ts, simd/winograd4.ts). */
export const HELPER_FNS = ['convForward', 'winogradConv', 'winograd4Conv'] as const;
export type HelperFn = (typeof HELPER_FNS)[number];

export interface HelperData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}
