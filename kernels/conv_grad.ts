/**
 * Gradient kernels the wasm backend lacks, built from wasm's own fast kernels.
 *
 * tfjs-backend-wasm 4.x ships forward convolutions (XNNPACK) but not
 * `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `DepthwiseConv2dNativeBackpropInput`, so a training step on wasm fails at the
 * first backward pass through a convolution. This file gives them:
 *
 * - conv filter gradient: im2col — for each output pixel (P = N·outH·outW)
 *   the input under every kernel offset, `[P, k²·Cin]`, written in one pass on
 *   the wasm heap — then dW = dYᵀ `[Cout, P]` · cols in one
 *   matmul (dY is transposed once because wasm's matmul is ~10× slower with
 *   `transposeA`). Same FLOPs as the forward conv and few kernel calls; the
 *   dilated-conv formulation would need an XNNPACK indirection buffer of
 *   Cin·k²·outH·outW pointers, hundreds of MB at detection sizes.
 * - depthwise filter and input gradients: direct SIMD loops over the heap
 *   (simd/depthwise.ts) for every stride and channel multiplier. Where our
 *   SIMD module is off: the same im2col, then Σ_P cols ⊙ dY (a matmul per
 *   channel with a multiplier), and a stride-1 depthwise conv of the
 *   zero-dilated, padded dY with the spatially flipped filter.
 *
 * Where the oneDNN addon is built, the depthwise gradients go to it
 * (kernels/conv_dnnl.ts), as the dense ones do through conv_gemm.ts.
 *
 * - conv input gradient: replaces wasm's own kernel (11× slower than the
 *   forward conv) with forward convs of dY, one per stride phase.
 *
 * Nothing here copies data to the cpu backend.
 */
import { tf } from '../engine/tf';
import { simdFor, Simd } from '../engine/simd_module';
import { Geometry, geometry, Phase, phases } from './conv_geometry';
import { conv2DFilterGradGemm, conv2DInputGradGemm, convGemmFor } from './conv_gemm';
import { dnnlConv2DFilterGrad, dnnlConv2DInputGrad, dnnlDepthwiseFor } from './conv_dnnl';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;
type Attrs = Record<string, unknown>;

/** The wasm backend's heap access (not on `KernelBackend`'s public type). */
interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** Calls a kernel registered for wasm directly (we are already inside a kernel). */
function run(backend: Backend, name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: Attrs = {}): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  const out = k.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(out) ? out[0] : out;
}

function free(backend: Backend, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/**
 * Pads (positive amounts) or crops (negative amounts) the two spatial axes of
 * an NHWC tensor. Returns the input itself when nothing changes.
 */
function padOrCrop(backend: Backend, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
  const [n, h, w, c] = x.shape;
  const cropT = Math.max(0, -top), cropB = Math.max(0, -bottom), cropL = Math.max(0, -left), cropR = Math.max(0, -right);
  let cur = x;
  if (cropT || cropB || cropL || cropR) {
    cur = run(backend, 'Slice', { x }, { begin: [0, cropT, cropL, 0], size: [n, h - cropT - cropB, w - cropL - cropR, c] });
  }
  const pt = Math.max(0, top), pb = Math.max(0, bottom), pl = Math.max(0, left), pr = Math.max(0, right);
  if (pt || pb || pl || pr) {
    const padded = run(backend, 'PadV2', { x: cur }, { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 });
    if (cur !== x) free(backend, cur);
    cur = padded;
  }
  return cur;
}

/**
 * im2col on the heap: `[P, kh·kw·C]` with P = N·outH·outW, row p holding the
 * input pixels under every kernel offset of output pixel p (zeros where the
 * kernel reads padding). One pass of plain copies: built from wasm's Slice and
 * Concat kernels it took 4× longer (their JS loops copy row by row, and
 * StridedSlice with strides > 1 copies element by element).
 */
function im2col(backend: Backend, x: TensorInfo, g: Geometry): TensorInfo {
  const heap = backend as unknown as HeapBackend;
  const [n, h, w, c] = x.shape;
  const out = heap.makeOutput([n * g.outH * g.outW, g.kh * g.kw * c], 'float32');
  const src = heap.typedArrayFromHeap(x), dst = heap.typedArrayFromHeap(out);
  dst.fill(0);
  let d = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let i = 0; i < g.kh; i++) {
          const y = oy * g.sh + i * g.dh - g.top;
          for (let j = 0; j < g.kw; j++, d += c) {
            const xx = ox * g.sw + j * g.dw - g.left;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const s = ((b * h + y) * w + xx) * c;
            if (c >= 16) dst.set(src.subarray(s, s + c), d);
            else for (let q = 0; q < c; q++) dst[d + q] = src[s + q];
          }
        }
      }
    }
  }
  return out;
}

/**
 * The transpose of `im2col`, `[kh·kw·C, P]`: row (tap, c) holds that input
 * channel under that kernel offset for every output pixel. Written directly
 * rather than transposing cols: by simd/im2col.ts where our SIMD module runs;
 * otherwise rows of at least 8 output pixels as one contiguous run per
 * channel (the strided reads stay in one cached input row, 2× faster than one
 * channel vector per pixel, which writes with a stride of P floats, and that
 * is still used for narrow maps where runs are short).
 */
function im2colT(backend: Backend, x: TensorInfo, g: Geometry): TensorInfo {
  const heap = backend as unknown as HeapBackend;
  const [n, h, w, c] = x.shape;
  const out = heap.makeOutput([g.kh * g.kw * c, n * g.outH * g.outW], 'float32');
  const simd = simdFor(backend);
  if (simd) {
    const geo = [n, h, w, c, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left, g.outH, g.outW];
    simd.withInts(geo, (p) => simd.k.im2colT(simd.ptr(x), simd.ptr(out), p));
    return out;
  }
  const src = heap.typedArrayFromHeap(x), dst = heap.typedArrayFromHeap(out);
  const fill = g.outW >= 8 ? im2colTRuns : im2colTPixels;
  for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) fill(src, dst, [n, h, w, c], g, i, j);
  return out;
}

/** One tap of `im2colT`, a run of output pixels per (row, channel). */
function im2colTRuns(src: Float32Array, dst: Float32Array, [n, h, w, c]: number[], g: Geometry, i: number, j: number): void {
  const P = n * g.outH * g.outW, outW = g.outW, rows = (i * g.kw + j) * c, step = g.sw * c;
  // Output columns whose input column is inside the image for this tap: [ox0, ox1).
  const ox0 = Math.min(outW, Math.max(0, Math.ceil((g.left - j * g.dw) / g.sw)));
  const ox1 = Math.max(ox0, Math.min(outW, Math.floor((w - 1 + g.left - j * g.dw) / g.sw) + 1));
  let p = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++, p += outW) {
      const y = oy * g.sh + i * g.dh - g.top;
      if (y < 0 || y >= h) {
        for (let q = 0; q < c; q++) dst.fill(0, (rows + q) * P + p, (rows + q) * P + p + outW);
        continue;
      }
      const s0 = ((b * h + y) * w + ox0 * g.sw + j * g.dw - g.left) * c;
      for (let q = 0; q < c; q++) {
        const d = (rows + q) * P + p;
        for (let t = 0; t < ox0; t++) dst[d + t] = 0;
        for (let t = ox0, s = s0 + q; t < ox1; t++, s += step) dst[d + t] = src[s];
        for (let t = ox1; t < outW; t++) dst[d + t] = 0;
      }
    }
  }
}

/** One tap of `im2colT`, a channel vector per output pixel. */
function im2colTPixels(src: Float32Array, dst: Float32Array, [n, h, w, c]: number[], g: Geometry, i: number, j: number): void {
  const P = n * g.outH * g.outW, rows = (i * g.kw + j) * c;
  let p = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      const y = oy * g.sh + i * g.dh - g.top;
      const rowInside = y >= 0 && y < h;
      const rowBase = (b * h + y) * w;
      for (let ox = 0; ox < g.outW; ox++, p++) {
        const xx = ox * g.sw + j * g.dw - g.left;
        if (!rowInside || xx < 0 || xx >= w) {
          for (let q = 0; q < c; q++) dst[(rows + q) * P + p] = 0;
          continue;
        }
        const s0 = (rowBase + xx) * c;
        for (let q = 0; q < c; q++) dst[(rows + q) * P + p] = src[s0 + q];
      }
    }
  }
}

/**
 * dW = Σ_p cols[p]ᵀ·dY[p], a contraction over P, the row axis of both, so one
 * side goes in transposed. wasm's matmul treats its second operand as fresh
 * weights and packs it on every call (single-threaded, the dominant cost when
 * it is the P × kh·kw·Cin cols), so without our SIMD kernels the smaller of
 * cols and dY is the second operand: usually dY, with colsᵀ first and dW
 * coming out in filter layout. With them, always that layout (see below).
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const backend = args.backend;
  const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (a.dataFormat && a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const [kh, kw, cin, cout] = a.filterShape;
  const g = geometry(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false);
  const gemm = convGemmFor(backend);
  if (gemm) return conv2DFilterGradGemm(gemm, backend, x, dy, a.filterShape, g);
  const p = x.shape[0] * g.outH * g.outW;
  const kc = kh * kw * cin;
  // With our SIMD im2colT this layout wins at every shape measured (the first conv, kc 27 < cout 32:
  // 3.1 vs 10.2 ms); the JS im2colT is slower than the JS im2col, so there the smaller operand decides.
  if (simdFor(backend) || kc >= cout) {
    const colsT = im2colT(backend, x, g);
    const colT3 = run(backend, 'Reshape', { x: colsT }, { shape: [1, kc, p] });
    const dy3 = run(backend, 'Reshape', { x: dy }, { shape: [1, p, cout] });
    const prod = run(backend, 'BatchMatMul', { a: colT3, b: dy3 }, { transposeA: false, transposeB: false });
    const out = run(backend, 'Reshape', { x: prod }, { shape: [kh, kw, cin, cout] });
    free(backend, colsT, colT3, dy3, prod);
    return out;
  }
  const dy2 = run(backend, 'Reshape', { x: dy }, { shape: [p, cout] });
  const dyT2 = run(backend, 'Transpose', { x: dy2 }, { perm: [1, 0] });
  const dyT = run(backend, 'Reshape', { x: dyT2 }, { shape: [1, cout, p] });
  // A 1×1 stride-1 conv without padding reads every pixel once: x is its own im2col.
  const pointwise = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.outH === x.shape[1] && g.outW === x.shape[2];
  const cols = pointwise ? x : im2col(backend, x, g);
  const col = run(backend, 'Reshape', { x: cols }, { shape: [1, p, kc] });
  const prod = run(backend, 'BatchMatMul', { a: dyT, b: col }, { transposeA: false, transposeB: false });
  const r = run(backend, 'Reshape', { x: prod }, { shape: [cout, kh, kw, cin] });
  const out = run(backend, 'Transpose', { x: r }, { perm: [1, 2, 3, 0] });
  free(backend, dy2, dyT2, dyT, col, prod, r);
  if (!pointwise) free(backend, cols);
  return out;
}

function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const backend = args.backend;
  const a = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const [kh, kw, c, m] = a.filterShape;
  const g = geometry(x.shape, a.filterShape, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  const d = dnnlDepthwiseFor(backend, undefined);
  if (d) return dnnlConv2DFilterGrad(d.addon, d.simd, backend, x, dy, a.filterShape, g, c, c * m);
  const simd = simdFor(backend);
  if (simd && g.dh === 1 && g.dw === 1) {
    const out = (backend as unknown as HeapBackend).makeOutput(a.filterShape, 'float32');
    simd.withInts(depthwiseGeometry(x.shape, m, g), (geo) => simd.k.depthwiseFilterGrad(simd.ptr(x), simd.ptr(dy), simd.ptr(out), geo));
    return out;
  }
  const p = x.shape[0] * g.outH * g.outW;
  const k = kh * kw;
  const cols = im2col(backend, x, g);
  let out: TensorInfo;
  if (m === 1) {
    // Σ_P cols[P, k², C] ⊙ dY[P, 1, C]: memory-bound and cheap.
    const col3 = run(backend, 'Reshape', { x: cols }, { shape: [p, k, c] });
    const dy3 = run(backend, 'Reshape', { x: dy }, { shape: [p, 1, c] });
    const prod = run(backend, 'Multiply', { a: col3, b: dy3 });
    const sum = run(backend, 'Sum', { x: prod }, { axis: [0], keepDims: false });
    out = run(backend, 'Reshape', { x: sum }, { shape: [kh, kw, c, 1] });
    free(backend, col3, dy3, prod, sum);
  } else {
    // Per channel c: dW[:, c, :] = colsᵀ `[k², P]` · dY `[P, m]`, batched over channels.
    const col3 = run(backend, 'Reshape', { x: cols }, { shape: [p, k, c] });
    const colT = run(backend, 'Transpose', { x: col3 }, { perm: [2, 1, 0] }); // [C, k², P]
    const dy3 = run(backend, 'Reshape', { x: dy }, { shape: [p, c, m] });
    const dyT = run(backend, 'Transpose', { x: dy3 }, { perm: [1, 0, 2] }); // [C, P, m]
    const prod = run(backend, 'BatchMatMul', { a: colT, b: dyT }, { transposeA: false, transposeB: false }); // [C, k², m]
    const prodT = run(backend, 'Transpose', { x: prod }, { perm: [1, 0, 2] });
    out = run(backend, 'Reshape', { x: prodT }, { shape: [kh, kw, c, m] });
    free(backend, col3, colT, dy3, dyT, prod, prodT);
  }
  free(backend, cols);
  return out;
}

/**
 * The depthwise filter flipped in both spatial axes. A plain loop over the
 * heap: filters are small, and wasm's Reverse kernel took ~80 ms per
 * detector training step on them.
 */
function flipFilter(backend: Backend, filter: TensorInfo): TensorInfo {
  const heap = backend as unknown as HeapBackend;
  const [kh, kw, a, b] = filter.shape;
  const out = heap.makeOutput([kh, kw, a, b], 'float32');
  const src = heap.typedArrayFromHeap(filter), dst = heap.typedArrayFromHeap(out);
  const ab = a * b;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = ((kh - 1 - i) * kw + (kw - 1 - j)) * ab;
      dst.set(src.subarray(from, from + ab), (i * kw + j) * ab);
    }
  }
  return out;
}

/** Inserts `s − 1` zeros between rows (and columns): `[N, H, W, C]` → `[N, (H−1)·sh+1, (W−1)·sw+1, C]`. */
function zeroDilate(backend: Backend, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const r6 = run(backend, 'Reshape', { x: dy }, { shape: [n, h, 1, w, 1, c] });
  const p6 = run(backend, 'PadV2', { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
  const r4 = run(backend, 'Reshape', { x: p6 }, { shape: [n, h * sh, w * sw, c] });
  const out = run(backend, 'Slice', { x: r4 }, { begin: [0, 0, 0, 0], size: [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c] });
  free(backend, r6, p6, r4);
  return out;
}

/** The int32 block simd/depthwise.ts reads its geometry from. */
function depthwiseGeometry(xShape: number[], m: number, g: Geometry): number[] {
  const [n, h, w, c] = xShape;
  return [n, h, w, c, m, g.kh, g.kw, g.sh, g.sw, g.top, g.left, g.outH, g.outW];
}

/** Depthwise input gradient as one direct SIMD loop (every stride, every multiplier). */
function depthwiseInputGradSimd(simd: Simd, backend: Backend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: Geometry): TensorInfo {
  const out = (backend as unknown as HeapBackend).makeOutput(inputShape, 'float32');
  simd.withInts(depthwiseGeometry(inputShape, filter.shape[3], g), (geo) => simd.k.depthwiseInputGrad(simd.ptr(dy), simd.ptr(filter), simd.ptr(out), geo));
  return out;
}

function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const backend = args.backend;
  const a = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const [n, h, w, c] = a.inputShape;
  const [kh, kw, , m] = filter.shape;
  const g = geometry(a.inputShape, filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  const d = dnnlDepthwiseFor(backend, undefined);
  if (d) return dnnlConv2DInputGrad(d.addon, d.simd, backend, dy, filter, a.inputShape, g, c, c * m);
  const simd = simdFor(backend);
  if (simd && g.dh === 1 && g.dw === 1) return depthwiseInputGradSimd(simd, backend, dy, filter, a.inputShape, g);
  const dyd = zeroDilate(backend, dy, g.sh, g.sw);
  const hd = dyd.shape[1], wd = dyd.shape[2];
  // Full correlation with the flipped filter: left pad (k−1)·d − padTop, and
  // right pad chosen so that the output is exactly the input size.
  const padded = padOrCrop(backend, dyd, (kh - 1) * g.dh - g.top, h + g.top - hd, (kw - 1) * g.dw - g.left, w + g.left - wd);
  const flipped = flipFilter(backend, filter);
  const convAttrs = { strides: [1, 1], pad: 'valid', dilations: [g.dh, g.dw], dataFormat: 'NHWC' };
  let out: TensorInfo;
  if (m === 1) {
    out = run(backend, 'DepthwiseConv2dNative', { x: padded, filter: flipped }, convAttrs);
  } else {
    // Output channel c·m + k reads input channel c: convolve every dY channel with its own
    // flipped filter (one depthwise call over C·m channels), then sum each group of m.
    const f1 = run(backend, 'Reshape', { x: flipped }, { shape: [kh, kw, c * m, 1] });
    const z = run(backend, 'DepthwiseConv2dNative', { x: padded, filter: f1 }, convAttrs);
    const z5 = run(backend, 'Reshape', { x: z }, { shape: [n, h, w, c, m] });
    out = run(backend, 'Sum', { x: z5 }, { axis: [4], keepDims: false });
    free(backend, f1, z, z5);
  }
  free(backend, flipped);
  if (padded !== dyd) free(backend, padded);
  if (dyd !== dy) free(backend, dyd);
  return out;
}

/**
 * The taps of one phase, flipped in both spatial axes and with in/out
 * channels swapped: `[ty, tx, Cout, Cin]` from `[kh, kw, Cin, Cout]`, tap
 * (a, b) being filter offset (ry + sh·(ty − 1 − a), rx + sw·(tx − 1 − b)).
 */
function phaseFilter(backend: Backend, filter: TensorInfo, py: Phase, px: Phase, sh: number, sw: number): TensorInfo {
  const heap = backend as unknown as HeapBackend;
  const [, kw, cin, cout] = filter.shape;
  const out = heap.makeOutput([py.taps, px.taps, cout, cin], 'float32');
  const src = heap.typedArrayFromHeap(filter), dst = heap.typedArrayFromHeap(out);
  for (let a = 0; a < py.taps; a++) {
    for (let b = 0; b < px.taps; b++) {
      const from = ((py.r + sh * (py.taps - 1 - a)) * kw + (px.r + sw * (px.taps - 1 - b))) * cin * cout;
      const to = (a * px.taps + b) * cout * cin;
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) dst[to + o * cin + i] = src[from + i * cout + o];
    }
  }
  return out;
}

/**
 * Conv input gradient, one forward conv (XNNPACK) per stride phase: for
 * stride s the input rows (and columns) split into s phases by (t + pad) mod s,
 * and each phase is a stride-1 correlation of dY with its own taps of the
 * flipped filter (a 3×3/2 conv: 2×2, 2×1, 1×2 and 1×1), written into every
 * s-th pixel of dX. Only the MACs that reach dX are done, where the textbook
 * conv of the zero-dilated dY wastes (s² − 1)/s² of them. For stride 1 it is
 * one phase, the full-correlation conv, whose output is dX itself. Replaces
 * wasm's own `Conv2DBackpropInput`, 11× slower than the forward conv.
 */
function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const backend = args.backend;
  const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (a.dataFormat && a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
  const [n, h, w, cin] = a.inputShape;
  const [kh, kw] = filter.shape;
  const g = geometry(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false);
  const gemm = convGemmFor(backend);
  if (gemm) return conv2DInputGradGemm(gemm, backend, dy, filter, a.inputShape, g);
  const rowPhases = phases(h, kh, g.sh, g.top), colPhases = phases(w, kw, g.sw, g.left);
  const single = g.sh === 1 && g.sw === 1;
  const heap = backend as unknown as HeapBackend;
  const out = single ? undefined : heap.makeOutput([n, h, w, cin], 'float32');
  if (out && rowPhases.concat(colPhases).some((p) => p.count > 0 && p.taps === 0)) heap.typedArrayFromHeap(out).fill(0);
  for (const py of rowPhases) {
    for (const px of colPhases) {
      if (!py.count || !px.count || !py.taps || !px.taps) continue;
      // Rows and columns to add (> 0) or drop (< 0) around dY: the conv pads, a slice drops.
      const edges = [py.taps - 1 - py.q0, py.q0 + py.count - g.outH, px.taps - 1 - px.q0, px.q0 + px.count - g.outW];
      const [t, b, l, r] = edges.map((e) => Math.min(0, e));
      const cropped = padOrCrop(backend, dy, t, b, l, r);
      const [pt, pb, pl, pr] = edges.map((e) => Math.max(0, e));
      const taps = phaseFilter(backend, filter, py, px, g.sh, g.sw);
      const z = run(backend, 'Conv2D', { x: cropped, filter: taps }, { strides: [1, 1], pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dilations: [1, 1], dataFormat: 'NHWC' });
      free(backend, taps);
      if (cropped !== dy) free(backend, cropped);
      if (!out) return z;
      scatterPhase(heap.typedArrayFromHeap(z), heap.typedArrayFromHeap(out), [n, h, w, cin], py.q0 * g.sh + py.r - g.top, px.q0 * g.sw + px.r - g.left, g.sh, g.sw, py.count, px.count);
      free(backend, z);
    }
  }
  return out!;
}

/** Writes a phase's `[n, rows, cols, c]` result into dX at rows y0 + sh·i, columns x0 + sw·j. */
function scatterPhase(z: Float32Array, dx: Float32Array, [n, h, w, c]: number[], y0: number, x0: number, sh: number, sw: number, rows: number, cols: number): void {
  let s = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < rows; i++) {
      let d = ((b * h + y0 + i * sh) * w + x0) * c;
      for (let j = 0; j < cols; j++, s += c, d += sw * c) {
        if (c >= 16) dx.set(z.subarray(s, s + c), d);
        else for (let q = 0; q < c; q++) dx[d + q] = z[s + q];
      }
    }
  }
}

/** The gradient kernels this file gives wasm (tests iterate over it). */
export const WASM_GRAD_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'] as const;

/** The conv and depthwise gradients on wasm (replacing its slow Conv2DBackpropInput); none elsewhere. */
export function convGradConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  const impls: Record<(typeof WASM_GRAD_KERNELS)[number], tf.KernelFunc> = {
    Conv2DBackpropFilter: conv2DBackpropFilter as tf.KernelFunc,
    Conv2DBackpropInput: conv2DBackpropInput as tf.KernelFunc,
    DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as tf.KernelFunc,
    DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as tf.KernelFunc,
  };
  return WASM_GRAD_KERNELS.map((kernelName) => ({ kernelName, backendName, kernelFunc: impls[kernelName] }));
}
