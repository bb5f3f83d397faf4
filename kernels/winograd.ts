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
import { packedWeights } from '../engine/packed_weights';
import { simdHelperFor, splitRow } from '../engine/simd_helper';

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

/** Tiles per chunk: its transformed inputs and products (`positions` each) in ~512 KB. */
function chunkTiles(k: number, n8: number, positions = 16): number {
  return Math.max(positions === 16 ? 16 : 8, Math.min(256, Math.floor((8192 * 16) / positions / (k + n8) / 4) * 4));
}

/**
 * The Winograd conv of `x` `[n, h, w, K]` into a fresh `[n, outH, outW, N]`
 * (`place` absent) or into the given output map with output pixel (oy, ox)
 * at (y0 + oy, x0 + ox).
 */
function run(simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, flip: boolean, y: TensorInfo, g: Geometry, place: [number, number, number, number]): void {
  const [n, h, w, k] = x.shape;
  const [, , fin, fout] = filter.shape;
  const N = flip ? fin : fout, blocks = Math.ceil(N / 8), n8 = blocks * 8;
  const f4 = useF4(g);
  const positions = f4 ? 36 : 16, tileRows = f4 ? 4 : 2;
  const chunk = chunkTiles(k, n8, positions);
  const helper = simdHelperFor(simd);
  // Split at a tile row: a tile never straddles the two halves. 4 MACs per output and tap stand for the Winograd saving.
  const cut = helper ? splitRow(g.outH, tileRows, n * g.outH * g.outW * k * N * 4) : 0;
  const scratchBytes = positions * chunk * (k + n8) * 4;
  const pack = packedWeights(simd, backend, filter, `winograd${f4 ? 4 : 2} ${fin} ${fout} ${flip ? 1 : 0}`, positions * blocks * k * 32,
    (p) => (f4 ? simd.k.winograd4PackFilter : simd.k.winogradPackFilter)(simd.ptr(filter), p, fin, fout, flip ? 1 : 0));
  const ptrs = [k * 4, scratchBytes, cut ? scratchBytes : 0].map((b) => simd.malloc(Math.max(16, b)));
  try {
    const packed = pack.ptr;
    const [zeros, scratch, scratch2] = ptrs;
    simd.f32(zeros, k).fill(0);
    const conv = f4 ? simd.k.winograd4Conv : simd.k.winogradConv;
    const [H, W, y0, x0] = place;
    const geo = (outH: number, top: number, row0: number): number[] => [n, h, w, k, outH, g.outW, N, top, g.left, H, W, row0, x0, chunk];
    if (!cut || !helper) {
      simd.withInts(geo(g.outH, g.top, y0), (gp) => conv(simd.ptr(x), packed, simd.ptr(y), gp, zeros, scratch));
      return;
    }
    simd.withInts(geo(g.outH - cut, g.top - cut, y0 + cut), (low) => simd.withInts(geo(cut, g.top, y0), (high) => {
      helper.start(f4 ? 'winograd4Conv' : 'winogradConv', [simd.ptr(x), packed, simd.ptr(y), low, zeros, scratch2]);
      try {
        conv(simd.ptr(x), packed, simd.ptr(y), high, zeros, scratch);
      } finally {
        helper.finish();
      }
    }));
  } finally {
    for (const p of ptrs) simd.free(p);
    pack.release();
  }
}

/**
 * F(4×4, 3×3) (simd/winograd4.ts) for output maps of at least
 * `F4_MIN_PIXELS` (and 16 on each side), where its 4× saving repays its
 * 36-position filter and transforms: measured on one thread, 256 → 256
 * channels, it took 0.56–0.63× F(2×2)'s time at 112×176 and 0.83× at 56×88
 * (128 channels), but 1.4× at 28×44 and 32×32. F(2×2, 3×3) below, or
 * everywhere with GHOSTDET_WINOGRAD=2.
 */
const F4_MIN_PIXELS = 4096;

function useF4(g: Geometry): boolean {
  return flag('GHOSTDET_WINOGRAD') !== '2' && g.outH >= 16 && g.outW >= 16 && g.outH * g.outW >= F4_MIN_PIXELS;
}

/** y = conv(x, filter) for a geometry `winogradFits`. */
export function winogradConv2D(simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, g: Geometry): TensorInfo {
  const cout = filter.shape[3];
  const [y] = storage(backend, 'wasm').alloc([[x.shape[0], g.outH, g.outW, cout]]).infos;
  if (tf.util.sizeFromShape(y.shape) === 0) return y;
  run(simd, backend, x, filter, false, y, g, [g.outH, g.outW, 0, 0]);
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
  run(simd, backend, dy, filter, true, dx, flipped, [h, w, 0, 0]);
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
