/**
 * Dense convolutions on our SIMD GEMMs (simd/conv_gemm.ts) in place of
 * XNNPACK's, on one thread: the forward conv, the input gradient (forward
 * GEMMs of dY, one per stride phase) and the filter gradient.
 *
 * Why: with relaxed SIMD the GEMMs multiply-add in one fused instruction,
 * which XNNPACK's wasm build cannot use; its convs ran 11–21 GFLOP/s on one
 * thread of this project's 2-core machine (filter gradients, as im2colᵀ + a
 * matmul, 5–14), where a 4×8 FMA tile runs ~30. The filter gradient also no
 * longer writes the `[kh·kw·Cin, P]` im2colᵀ, 9× the input for a 3×3 conv.
 *
 * Used where our SIMD module runs and the backend has one XNNPACK thread (a
 * training replica; bench:train measures both layouts), and at more threads
 * where the forward GEMMs split their output rows with a helper thread on
 * the shared heap (engine/simd_helper.ts; the gradients' GEMMs then run on
 * one core, the input gradient's split as forward GEMMs do).
 * GHOSTDET_CONV_GEMM=0 turns them off, GHOSTDET_CONV_GEMM=1 on at any
 * thread count even without the helper.
 *
 * Where the oneDNN addon is built (kernels/conv_dnnl.ts), each entry point
 * hands the whole conv to oneDNN instead, at any thread count; the GEMMs,
 * Winograd and XNNPACK remain the route without it (GHOSTDET_DNNL=0).
 */
import { tf } from '../engine/tf';
import { Geometry, geometry, geometryInts, phases } from './conv_geometry';
import { dnnlConv2D, dnnlConv2DFilterGrad, dnnlConv2DInputGrad, dnnlFor } from './conv_dnnl';
import { wasmThreadCount } from '../engine/wasm_thread_count';
import { storage } from '../engine/kernel_storage';
import { simdFor, Simd } from '../engine/simd_module';
import { simdHelperFor, splitRow } from '../engine/simd_helper';
import { MIN_OUTPUTS, winogradConv2D, winogradFilterGrad, winogradFits, winogradInputGrad } from './winograd';
import { flag } from '../util/flags';
import { packedWeights } from '../engine/packed_weights';
import { replaceKernel } from './replace_kernel';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

/** Our SIMD module where the conv GEMMs should run on this backend (see the file comment), else undefined. */
export function convGemmFor(backend: Backend): Simd | undefined {
  const mode = flag('GHOSTDET_CONV_GEMM');
  if (mode === '0') return undefined;
  const simd = simdFor(backend);
  if (!simd) return undefined;
  return mode === '1' || wasmThreadCount(backend) === 1 || simdHelperFor(simd) || dnnlFor(backend) ? simd : undefined;
}


/** Where the forward kernel writes output pixel (b, oy, ox): a `[n, H, W, c]` map, row y0 + oy·ys, column x0 + ox·xs. */
type Placement = [H: number, W: number, y0: number, x0: number, ys: number, xs: number];

/** Heap scratch for the length of `fn`. */
function withScratch<T>(simd: Simd, bytes: number[], fn: (...ptrs: number[]) => T): T {
  const ptrs = bytes.map((b) => simd.malloc(Math.max(16, b)));
  try {
    return fn(...ptrs);
  } finally {
    for (const p of ptrs) simd.free(p);
  }
}

/** y = conv(x, filter), NHWC / HWIO, the filter `[kh, kw, Cin/G, Cout]` for G groups. */
export function conv2DGemm(simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, g: Geometry, groups = 1): TensorInfo {
  const n = x.shape[0];
  const [kh, kw, gin, cout] = filter.shape;
  const addon = dnnlFor(backend);
  if (addon) return dnnlConv2D(addon, simd, backend, x, filter, g, groups);
  if (winogradFits(g, gin, cout, groups, n * g.outH * g.outW, MIN_OUTPUTS.conv)) return winogradConv2D(simd, backend, x, filter, g);
  const K = kh * kw * gin;
  const [y] = storage(backend, 'wasm').alloc([[n, g.outH, g.outW, cout]]).infos;
  if (tf.util.sizeFromShape(y.shape) === 0) return y;
  const packed = packedWeights(simd, backend, filter, `gemm ${K} ${cout} ${groups}`, groups * Math.ceil(cout / groups / 8) * K * 32,
    (p) => simd.k.convPackFilter(simd.ptr(filter), p, K, cout, groups));
  try {
    forward(simd, simd.ptr(x), x.shape, packed.ptr, simd.ptr(y), cout, g, groups, [g.outH, g.outW, 0, 0, 1, 1]);
  } finally {
    packed.release();
  }
  return y;
}

/** The forward GEMM over packed panels, with its scratch. */
function forward(simd: Simd, x: number, xShape: number[], packed: number, y: number, cout: number, g: Geometry, groups: number, place: Placement): void {
  const cin = xShape[3], K = g.kh * g.kw * (cin / groups);
  const helper = simdHelperFor(simd);
  const cut = helper ? splitRow(g.outH, 1, xShape[0] * g.outH * g.outW * K * cout) : 0;
  withScratch(simd, [cin * 4, K * 16, cut ? K * 16 : 0], (zeros, tile, tile2) => {
    simd.f32(zeros, cin).fill(0);
    if (!cut || !helper) {
      simd.withInts([...geometryInts(xShape, cout, g, groups), ...place], (geo) => simd.k.convForward(x, packed, y, geo, zeros, tile));
      return;
    }
    // Rows [cut, outH) on the helper: the window starts cut·sh rows lower, and lands cut·ys rows lower.
    const [H, W, y0, x0, ys, xs] = place;
    const low: Geometry = { ...g, outH: g.outH - cut, top: g.top - cut * g.sh };
    simd.withInts([...geometryInts(xShape, cout, low, groups), H, W, y0 + cut * ys, x0, ys, xs], (geoLow) => {
      simd.withInts([...geometryInts(xShape, cout, { ...g, outH: cut }, groups), ...place], (geoHigh) => {
        helper.start('convForward', [x, packed, y, geoLow, zeros, tile2]);
        try {
          simd.k.convForward(x, packed, y, geoHigh, zeros, tile);
        } finally {
          helper.finish();
        }
      });
    });
  });
}

/**
 * dX of y = conv(x, W) from dY: for stride s, one forward GEMM of dY per
 * stride phase (see `phases`) with that phase's taps of the flipped filter,
 * written straight into every s-th pixel of dX; stride 1 is one phase, the
 * full correlation.
 */
export function conv2DInputGradGemm(simd: Simd, backend: Backend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Geometry,
  groups = 1): TensorInfo {
  const [, h, w, cin] = inputShape;
  const [kh, kw, gin, cout] = filter.shape;
  const addon = dnnlFor(backend);
  if (addon) return dnnlConv2DInputGrad(addon, simd, backend, dy, filter, inputShape, g, groups);
  if (winogradFits(g, cout, gin, groups, inputShape[0] * h * w, MIN_OUTPUTS.conv)) return winogradInputGrad(simd, backend, dy, filter, inputShape, g);
  const st = storage(backend, 'wasm');
  const [dx] = st.alloc([inputShape]).infos;
  const rowPhases = phases(h, kh, g.sh, g.top), colPhases = phases(w, kw, g.sw, g.left);
  // Pixels no tap reaches (kernel smaller than the stride) stay zero.
  if (rowPhases.concat(colPhases).some((p) => p.count > 0 && p.taps === 0)) st.read(dx).fill(0);
  for (const py of rowPhases) {
    for (const px of colPhases) {
      if (!py.count || !px.count || !py.taps || !px.taps) continue;
      const K = py.taps * px.taps * (cout / groups);
      withScratch(simd, [groups * Math.ceil(gin / 8) * K * 32], (packed) => {
        simd.withInts([kw, gin, cout, py.r, px.r, py.taps, px.taps, g.sh, g.sw, groups], (geo) => simd.k.convPackPhase(simd.ptr(filter), packed, geo));
        const pg: Geometry = {
          outH: py.count, outW: px.count, kh: py.taps, kw: px.taps, sh: 1, sw: 1, dh: 1, dw: 1,
          top: py.taps - 1 - py.q0, left: px.taps - 1 - px.q0, bottom: 0, right: 0,
        };
        const place: Placement = [h, w, py.q0 * g.sh + py.r - g.top, px.q0 * g.sw + px.r - g.left, g.sh, g.sw];
        forward(simd, simd.ptr(dy), dy.shape, packed, simd.ptr(dx), cin, pg, groups, place);
      });
    }
  }
  return dx;
}

/** Pads the last axis of a `[rows, c]` heap array to c2 into scratch, or returns it as is. */
function padded(simd: Simd, src: number, rows: number, c: number, c2: number, scratch: number): number {
  if (c === c2) return src;
  simd.k.padRows(src, scratch, rows, c, c2);
  return scratch;
}

/**
 * dW `[kh, kw, Cin/G, Cout]` of y = conv(x, W), from x and dY. The kernels
 * take 4 inputs × 8 outputs a tile, within a group: each group's channels
 * are padded to that (zeros) around the call where they are not.
 */
export function conv2DFilterGradGemm(simd: Simd, backend: Backend, x: TensorInfo, dy: TensorInfo,
  filterShape: [number, number, number, number], g: Geometry, groups = 1): TensorInfo {
  const [n, h, w] = x.shape;
  const [kh, kw, gin, cout] = filterShape;
  const addon = dnnlFor(backend);
  if (addon) return dnnlConv2DFilterGrad(addon, simd, backend, x, dy, filterShape, g, groups);
  if (winogradFits(g, gin, cout, groups, n * g.outH * g.outW, MIN_OUTPUTS.filterGrad)) return winogradFilterGrad(simd, backend, x, dy, filterShape, g);
  const gout = cout / groups;
  const gin4 = Math.ceil(gin / 4) * 4, gout8 = Math.ceil(gout / 8) * 8;
  const cin4 = groups * gin4, cout8 = groups * gout8;
  const [dw] = storage(backend, 'wasm').alloc([filterShape]).infos;
  const pixels = n * g.outH * g.outW;
  const exact = gin4 === gin && gout8 === gout;
  const bytes = exact ? [] : [n * h * w * cin4 * 4, pixels * cout8 * 4, kh * kw * gin4 * cout8 * 4];
  withScratch(simd, bytes, (xs, dys, dws) => {
    // Rows of one group's channels: a pixel's G groups are consecutive runs.
    const xp = padded(simd, simd.ptr(x), n * h * w * groups, gin, gin4, xs);
    const dyp = padded(simd, simd.ptr(dy), pixels * groups, gout, gout8, dys);
    const out = exact ? simd.ptr(dw) : dws;
    const geo = geometryInts([n, h, w, cin4], cout8, g, groups);
    if (groups > 1) {
      simd.withInts(geo, (p) => simd.k.convFilterGrad(xp, dyp, out, p));
    } else {
      // Chunks of output pixels whose dY panels fit in ~256 KB of L2.
      const chunk = Math.max(128, Math.min(2048, Math.floor(65536 / cout8)));
      withScratch(simd, [chunk * (cout8 + 4) * 4], (scratch) => {
        simd.withInts([...geo, chunk], (p) => simd.k.convFilterGradPacked(xp, dyp, out, p, scratch));
      });
    }
    if (!exact) unpadFilter(simd, dws, simd.ptr(dw), kh * kw, gin, gin4, groups, gout, gout8);
  });
  return dw;
}

/** `[taps, gin4, G·gout8]` → `[taps, gin, G·gout]`: per tap, gin·G rows of gout floats out of rows of gout8. */
function unpadFilter(simd: Simd, src: number, dst: number, taps: number, gin: number, gin4: number, groups: number, gout: number, gout8: number): void {
  for (let t = 0; t < taps; t++) {
    simd.k.copyRuns(src + t * gin4 * groups * gout8 * 4, dst + t * gin * groups * gout * 4, gin * groups, gout, gout8, gout);
  }
}

/**
 * `conv2DGemm` in front of wasm's Conv2D; XNNPACK's stays the fallback
 * (NCHW, more than one thread, no SIMD module). None on other backends.
 */
export function convGemmConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  return replaceKernel('Conv2D', backendName, (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    const backend = args.backend as Backend;
    const simd = convGemmFor(backend);
    if (!simd || (a.dataFormat && a.dataFormat !== 'NHWC')) return undefined;
    const g = geometry(x.shape, filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false);
    return conv2DGemm(simd, backend, x, filter, g);
  });
}
