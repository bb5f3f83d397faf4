/** Which convolution pass a call runs: 0 forward, 1 input gradient, 2 filter gradient. */
export type ConvPass = 0 | 1 | 2;

/**
 * oneDNN's convolutions on NHWC tensors with `[kh, kw, Cin/G, Cout]` filters
 * (src/ghostdet_dnnl.cc). `heap` is a view of the memory the tensors live
 * in; `a`, `b` and `out` are byte offsets into it:
 * forward (x, filter → y), input gradient (dy, filter → dx),
 * filter gradient (x, dy → dw). `geometry` holds 16 ints:
 * n, h, w, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, top, left, groups.
 */
export interface DnnlAddon {
  conv(pass: ConvPass, heap: ArrayBufferView, a: number, b: number, out: number, geometry: Int32Array): void;
  /** oneDNN's implementation for that call's shape, e.g. "brgconv:avx512_core". */
  implementation(pass: ConvPass, geometry: Int32Array): string;
  /** OpenMP threads for the calling thread's convolutions. */
  setThreads(n: number): void;
  /** oneDNN's version, e.g. "2.6.3". */
  version(): string;
  /** Cached primitives on the calling thread (at most 1,024). */
  cached(): number;
  /** Primitives built on the calling thread so far, evicted ones included. */
  built(): number;
  /** Passes run on the calling thread so far. */
  runs(): number;
}
/** The built addon, or undefined where it was not built. */
export function load(): DnnlAddon | undefined;
export const file: string;
/** What to install when it is missing. */
export const missing: string;
