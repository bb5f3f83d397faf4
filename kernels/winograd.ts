/**
 * 3×3 stride-1 convs by Winograd's F(2×2, 3×3) (simd/winograd.ts): the
 * forward, the input gradient (itself a 3×3 stride-1 conv of dY with the
 * flipped filter) and the filter gradient (the forward's products
 * differentiated: Σ over tiles of transformed inputs times transformed
 * dY), each 16 multiply-adds per 2×2 outputs and channel pair where the
 * direct GEMM does 36. The RetinaNet and YOLOX heads and the FPN
 * outputs are such convs, at 64 channels.
 *
 * Only where it pays: channels a multiple of 4 on the side the transform
 * reads, and enough channels for the GEMMs to dominate the transforms
 * (`winogradFits`). GHOSTDET_WINOGRAD=0 turns it off.
 */
import { tf } from '../engine/tf';
import type { Geometry } from './conv_geometry';
import { storage } from '../engine/kernel_storage';
import type { Simd } from '../engine/simd_module';
import { flag } from '../util/flags';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

/**
 * Below these the transforms cost what the multiply-adds save (one thread,
 * batch 4, 64 channels: the forward and input gradient, which transform the
 * filter on each call, are 1.4× faster than the direct GEMM on 16×16 maps,
 * even on 8×8, half as fast on 4×4; the filter gradient is 1.4–1.8× faster
 * from 4×4 up).
 */
const MIN_CHANNELS = 16;
export const MIN_OUTPUTS = { conv: 512, filterGrad: 64 } as const;

/**
 * Whether a conv runs as Winograd: 3×3, stride 1, dilation 1, one group;
 * `k` the channels read, `n` those written, `outputs` the output pixels
 * (batch included), at least `minOutputs`.
 */
export function winogradFits(g: Geometry, k: number, n: number, groups: number, outputs: number, minOutputs: number): boolean {
  if (flag('GHOSTDET_WINOGRAD') === '0') return false;
  return g.kh === 3 && g.kw === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1 && groups === 1
    && k % 4 === 0 && k >= MIN_CHANNELS && n >= MIN_CHANNELS && outputs >= minOutputs;
}

/** Tiles per chunk: its transformed inputs and products (16 positions each) in ~512 KB. */
function chunkTiles(k: number, n8: number): number {
  return Math.max(16, Math.min(256, Math.floor(8192 / (k + n8) / 4) * 4));
}

/**
 * The Winograd conv of `x` `[n, h, w, K]` into a fresh `[n, outH, outW, N]`
 * (`place` absent) or into the given output map with output pixel (oy, ox)
 * at (y0 + oy, x0 + ox).
 */
function run(simd: Simd, x: TensorInfo, filter: TensorInfo, flip: boolean, y: TensorInfo, g: Geometry, place: [number, number, number, number]): void {
  const [n, h, w, k] = x.shape;
  const [, , fin, fout] = filter.shape;
  const N = flip ? fin : fout, blocks = Math.ceil(N / 8), n8 = blocks * 8;
  const chunk = chunkTiles(k, n8);
  const ptrs = [16 * blocks * k * 32, k * 4, 16 * chunk * (k + n8) * 4].map((b) => simd.malloc(Math.max(16, b)));
  try {
    const [packed, zeros, scratch] = ptrs;
    simd.f32(zeros, k).fill(0);
    simd.k.winogradPackFilter(simd.ptr(filter), packed, fin, fout, flip ? 1 : 0);
    simd.withInts([n, h, w, k, g.outH, g.outW, N, g.top, g.left, ...place, chunk], (geo) => simd.k.winogradConv(simd.ptr(x), packed, simd.ptr(y), geo, zeros, scratch));
  } finally {
    for (const p of ptrs) simd.free(p);
  }
}

/** y = conv(x, filter) for a geometry `winogradFits`. */
export function winogradConv2D(simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, g: Geometry): TensorInfo {
  const cout = filter.shape[3];
  const [y] = storage(backend, 'wasm').alloc([[x.shape[0], g.outH, g.outW, cout]]).infos;
  if (tf.util.sizeFromShape(y.shape) === 0) return y;
  run(simd, x, filter, false, y, g, [g.outH, g.outW, 0, 0]);
  return y;
}

/**
 * dX of y = conv(x, filter) for a geometry `winogradFits`: the correlation
 * of dY with the flipped filter, padded by 2 − pad (a negative pad starts
 * the window inside the map).
 */
export function winogradInputGrad(simd: Simd, backend: Backend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Geometry): TensorInfo {
  const [dx] = storage(backend, 'wasm').alloc([inputShape]).infos;
  if (tf.util.sizeFromShape(dx.shape) === 0) return dx;
  const [, h, w] = inputShape;
  const flipped: Geometry = { ...g, outH: h, outW: w, top: 2 - g.top, left: 2 - g.left, bottom: 0, right: 0 };
  run(simd, dy, filter, true, dx, flipped, [h, w, 0, 0]);
  return dx;
}

/** dW `[3, 3, cin, cout]` of y = conv(x, W) for a geometry `winogradFits`. */
export function winogradFilterGrad(simd: Simd, backend: Backend, x: TensorInfo, dy: TensorInfo, filterShape: number[], g: Geometry): TensorInfo {
  const [dw] = storage(backend, 'wasm').alloc([filterShape]).infos;
  if (tf.util.sizeFromShape(dw.shape) === 0) return dw;
  const [n, h, w, k] = x.shape;
  const N = filterShape[3], n8 = Math.ceil(N / 8) * 8;
  const chunk = chunkTiles(k, n8);
  const ptrs = [k * 4, (16 * chunk * (k + n8) + 16 * k * n8) * 4].map((b) => simd.malloc(Math.max(16, b)));
  try {
    const [zeros, scratch] = ptrs;
    simd.f32(zeros, k).fill(0);
    simd.withInts([n, h, w, k, g.outH, g.outW, N, g.top, g.left, chunk], (geo) => simd.k.winogradFilterGrad(simd.ptr(x), simd.ptr(dy), simd.ptr(dw), geo, zeros, scratch));
  } finally {
    for (const p of ptrs) simd.free(p);
  }
  return dw;
}
