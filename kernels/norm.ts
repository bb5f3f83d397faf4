/**
 * Normalisation + per-channel affine as one kernel forward and one backward,
 * for the wasm and cpu backends (both keep tensors in plain Float32Arrays).
 *
 * Composed from tfjs ops, a training BatchNorm or GroupNorm costs ~15 kernel
 * calls and full passes over the activation, and on wasm every `Mean`/`Sum`
 * over the leading axes of NHWC first transposes the whole tensor. Here the
 * forward reads x twice (Σx and Σx² in one pass, then the output) and the
 * backward twice (two per-channel sums, then dx), accumulating in float64.
 *
 * Layout: x is viewed as `[B, M, C]` with channels split into G groups of
 * C/G; statistics are per (b, group) over M·C/G values. BatchNorm is B = 1,
 * M = N·H·W, G = C; GroupNorm is B = N, M = H·W.
 */
import { tf } from '../engine/tf';
import { JS_KERNEL_BACKENDS, jsKernelConfigs, storage } from '../engine/kernel_storage';
import { simdFor, Simd } from '../engine/simd_module';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

export const NORM_AFFINE = 'GhostdetNormAffine';
export const NORM_AFFINE_GRAD = 'GhostdetNormAffineGrad';

/** Activation applied after the affine inside the kernel ('identity': none). */
export type NormAct = 'identity' | 'relu';

export interface NormAttrs {
  b: number;
  m: number;
  c: number;
  groups: number;
  eps: number;
  act: NormAct;
}

type Vec = Float32Array | Float64Array;

/** Per-channel Σx and Σx² of sample `bi` (float64: float32 inputs lose nothing to E[x²] − E[x]² at these sizes). */
function channelMoments(x: Float32Array, a: NormAttrs, bi: number, sum: Float64Array, sumSq: Float64Array): void {
  const { m, c } = a;
  sum.fill(0);
  sumSq.fill(0);
  for (let i = 0, off = bi * m * c; i < m; i++, off += c) {
    for (let j = 0; j < c; j++) {
      const v = x[off + j];
      sum[j] += v;
      sumSq[j] += v * v;
    }
  }
}

/** Per channel, the mean and biased variance of its group (sums over the group's channels). */
function groupStats(sum: Vec, sumSq: Vec, a: NormAttrs, mean: Float64Array, variance: Float64Array): void {
  const cg = a.c / a.groups, count = a.m * cg;
  for (let g = 0; g < a.groups; g++) {
    let s = 0, q = 0;
    for (let j = g * cg; j < (g + 1) * cg; j++) {
      s += sum[j];
      q += sumSq[j];
    }
    const mu = s / count;
    const v = Math.max(0, q / count - mu * mu);
    for (let j = g * cg; j < (g + 1) * cg; j++) {
      mean[j] = mu;
      variance[j] = v;
    }
  }
}

/** y = x·scale + shift over sample `bi`, with ReLU as a multiply by (v > 0): no branch to mispredict. */
function applyAffine(x: Float32Array, y: Float32Array, a: NormAttrs, bi: number, scale: Float64Array, shift: Float64Array): void {
  const { m, c } = a;
  const relu = a.act === 'relu';
  for (let i = 0, off = bi * m * c; i < m; i++, off += c) {
    if (relu) {
      for (let j = 0; j < c; j++) {
        const v = x[off + j] * scale[j] + shift[j];
        y[off + j] = v * +(v > 0);
      }
    } else {
      for (let j = 0; j < c; j++) y[off + j] = x[off + j] * scale[j] + shift[j];
    }
  }
}

/**
 * From sample `bi`'s per-channel sums: the affine that normalises it (scale,
 * shift per channel) and its statistics per group into the kernel's outputs.
 */
function sampleAffine(a: NormAttrs, bi: number, i: Record<'sum' | 'sumSq' | 'gamma' | 'beta', Vec>, o: Record<'scale' | 'shift' | 'mean' | 'invStd' | 'variance', Vec>): void {
  const { c, groups } = a, cg = c / groups;
  const mu = new Float64Array(c), vr = new Float64Array(c);
  groupStats(i.sum, i.sumSq, a, mu, vr);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(vr[j] + a.eps);
    o.scale[j] = i.gamma[j] * inv;
    o.shift[j] = i.beta[j] - mu[j] * o.scale[j];
  }
  for (let g = 0; g < groups; g++) {
    o.mean[bi * groups + g] = mu[g * cg];
    o.variance[bi * groups + g] = vr[g * cg];
    o.invStd[bi * groups + g] = 1 / Math.sqrt(vr[g * cg] + a.eps);
  }
}

function forwardKernel(backendName: 'wasm' | 'cpu') {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const a = args.attrs as unknown as NormAttrs;
    const st = storage(args.backend, backendName);
    const { b, c, groups } = a;
    const out = st.alloc([x.shape, [b * groups], [b * groups], [b * groups]]);
    const simd = backendName === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      forwardSimd(simd, x, gamma, beta, out.infos, a);
      return out.infos;
    }
    const xs = st.read(x), gs = st.read(gamma), bs = st.read(beta);
    const [y, meanOut, invOut, varOut] = out.views();
    const sum = new Float64Array(c), sumSq = new Float64Array(c);
    const scale = new Float64Array(c), shift = new Float64Array(c);
    for (let bi = 0; bi < b; bi++) {
      channelMoments(xs, a, bi, sum, sumSq);
      sampleAffine(a, bi, { sum, sumSq, gamma: gs, beta: bs }, { scale, shift, mean: meanOut, invStd: invOut, variance: varOut });
      applyAffine(xs, y, a, bi, scale, shift);
    }
    return out.infos;
  };
}

/** Per channel, sample `bi`'s saved mean and σ⁻¹ and the forward's affine rebuilt from them. */
function savedAffine(a: NormAttrs, bi: number, i: Record<'mean' | 'invStd' | 'gamma' | 'beta', Vec>, o: Record<'mu' | 'inv' | 'scale' | 'shift', Vec>): void {
  const cg = a.c / a.groups;
  for (let j = 0; j < a.c; j++) {
    o.mu[j] = i.mean[bi * a.groups + ((j / cg) | 0)];
    o.inv[j] = i.invStd[bi * a.groups + ((j / cg) | 0)];
    o.scale[j] = i.gamma[j] * o.inv[j];
    o.shift[j] = i.beta[j] - o.mu[j] * o.scale[j];
  }
}

/**
 * Per channel from the first pass's sums s1 = Σ dy', sx = Σ dy'·x: s2 = Σ dy'·x̂
 * and the coefficients of dx = k1·dy' + k2·x + k3 (see `backwardKernel`).
 */
function gradCoefficients(a: NormAttrs, i: Record<'s1' | 'sx' | 'mu' | 'inv' | 'gamma', Vec>, o: Record<'s2' | 'k1' | 'k2' | 'k3', Vec>): void {
  const cg = a.c / a.groups, count = a.m * cg;
  for (let j = 0; j < a.c; j++) o.s2[j] = i.inv[j] * (i.sx[j] - i.mu[j] * i.s1[j]);
  for (let g = 0; g < a.groups; g++) {
    let sa = 0, sb = 0;
    for (let j = g * cg; j < (g + 1) * cg; j++) {
      sa += i.gamma[j] * i.s1[j];
      sb += i.gamma[j] * o.s2[j];
    }
    const A = sa / count, Bm = sb / count;
    for (let j = g * cg; j < (g + 1) * cg; j++) {
      const iv = i.inv[j];
      o.k1[j] = iv * i.gamma[j];
      o.k2[j] = -iv * iv * Bm;
      o.k3[j] = -iv * A + iv * iv * Bm * i.mu[j];
    }
  }
}

/**
 * With dy' = dy masked by the activation and, per group of count n,
 * dβ = Σ dy', dγ = Σ dy'·x̂ and
 * dx = σ⁻¹·(γ·dy' − Σ_g γ·dy'/n − x̂·Σ_g γ·dy'·x̂/n) = k1·dy' + k2·x + k3
 * with per-channel k. Σ dy'·x̂ = σ⁻¹·(Σ dy'·x − μ·Σ dy'), so the first pass
 * reads only dy and x; the mask is x·scale + shift > 0, the forward's own test.
 */
function backwardKernel(backendName: 'wasm' | 'cpu') {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
    const { dy, x, gamma, beta, mean, invStd } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as unknown as NormAttrs;
    const st = storage(args.backend, backendName);
    const { b, m, c } = a;
    const out = st.alloc([x.shape, [c], [c]]);
    const simd = backendName === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      backwardSimd(simd, { dy, x, gamma, beta, mean, invStd }, out.infos, a);
      return out.infos;
    }
    const dys = st.read(dy), xs = st.read(x), gs = st.read(gamma), bs = st.read(beta);
    const ms = st.read(mean), is = st.read(invStd);
    const [dx, dGamma, dBeta] = out.views();
    const relu = a.act === 'relu';
    const mu = new Float64Array(c), inv = new Float64Array(c), scale = new Float64Array(c), shift = new Float64Array(c);
    const s1 = new Float64Array(c), sx = new Float64Array(c), s2 = new Float64Array(c), dg = new Float64Array(c), db = new Float64Array(c);
    const k1 = new Float64Array(c), k2 = new Float64Array(c), k3 = new Float64Array(c);
    for (let bi = 0; bi < b; bi++) {
      savedAffine(a, bi, { mean: ms, invStd: is, gamma: gs, beta: bs }, { mu, inv, scale, shift });
      s1.fill(0);
      sx.fill(0);
      for (let i = 0, off = bi * m * c; i < m; i++, off += c) {
        for (let j = 0; j < c; j++) {
          const xv = xs[off + j];
          const g = relu ? dys[off + j] * +(xv * scale[j] + shift[j] > 0) : dys[off + j];
          s1[j] += g;
          sx[j] += g * xv;
        }
      }
      gradCoefficients(a, { s1, sx, mu, inv, gamma: gs }, { s2, k1, k2, k3 });
      for (let j = 0; j < c; j++) {
        dg[j] += s2[j];
        db[j] += s1[j];
      }
      for (let i = 0, off = bi * m * c; i < m; i++, off += c) {
        for (let j = 0; j < c; j++) {
          const xv = xs[off + j];
          const g = relu ? dys[off + j] * +(xv * scale[j] + shift[j] > 0) : dys[off + j];
          dx[off + j] = k1[j] * g + k2[j] * xv + k3[j];
        }
      }
    }
    dGamma.set(dg);
    dBeta.set(db);
    return out.infos;
  };
}

/**
 * The forward with the two passes over x in SIMD code (simd/norm.ts); the
 * per-channel arithmetic in between stays here. Scale and shift are float32
 * there, so the backward's ReLU mask recomputes exactly the forward's test.
 */
function forwardSimd(simd: Simd, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, outs: TensorInfo[], a: NormAttrs): void {
  const { b, m, c, groups } = a;
  // Σx, Σx² (float64), then scale and shift (float32).
  const scratch = simd.malloc(c * 24);
  try {
    const sum = simd.f64(scratch, c), sumSq = simd.f64(scratch + c * 8, c), scale = simd.f32(scratch + c * 16, c), shift = simd.f32(scratch + c * 20, c);
    const gs = simd.f32(simd.ptr(gamma), c), bs = simd.f32(simd.ptr(beta), c);
    const [meanOut, invOut, varOut] = outs.slice(1).map((t) => simd.f32(simd.ptr(t), b * groups));
    const xPtr = simd.ptr(x), yPtr = simd.ptr(outs[0]), sampleBytes = m * c * 4;
    for (let bi = 0; bi < b; bi++) {
      sum.fill(0);
      sumSq.fill(0);
      simd.k.normMoments(xPtr + bi * sampleBytes, m, c, scratch, scratch + c * 8);
      sampleAffine(a, bi, { sum, sumSq, gamma: gs, beta: bs }, { scale, shift, mean: meanOut, invStd: invOut, variance: varOut });
      simd.k.normApply(xPtr + bi * sampleBytes, yPtr + bi * sampleBytes, m, c, scratch + c * 16, scratch + c * 20, +(a.act === 'relu'));
    }
  } finally {
    simd.free(scratch);
  }
}

/** The backward's two passes in SIMD code; the formulas are `backwardKernel`'s. */
function backwardSimd(simd: Simd, t: Record<'dy' | 'x' | 'gamma' | 'beta' | 'mean' | 'invStd', TensorInfo>, outs: TensorInfo[], a: NormAttrs): void {
  const { b, m, c, groups } = a;
  // s1, sx (float64); scale, shift, k1, k2, k3 (float32).
  const scratch = simd.malloc(c * 36);
  try {
    const s1 = simd.f64(scratch, c), sx = simd.f64(scratch + c * 8, c);
    const [scale, shift, k1, k2, k3] = [16, 20, 24, 28, 32].map((o) => simd.f32(scratch + c * o, c));
    const gs = simd.f32(simd.ptr(t.gamma), c), bs = simd.f32(simd.ptr(t.beta), c);
    const ms = simd.f32(simd.ptr(t.mean), b * groups), is = simd.f32(simd.ptr(t.invStd), b * groups);
    const [dGamma, dBeta] = outs.slice(1).map((o) => simd.f32(simd.ptr(o), c));
    const mu = new Float64Array(c), inv = new Float64Array(c), s2 = new Float64Array(c), dg = new Float64Array(c), db = new Float64Array(c);
    const dyPtr = simd.ptr(t.dy), xPtr = simd.ptr(t.x), dxPtr = simd.ptr(outs[0]), sampleBytes = m * c * 4, relu = +(a.act === 'relu');
    for (let bi = 0; bi < b; bi++) {
      savedAffine(a, bi, { mean: ms, invStd: is, gamma: gs, beta: bs }, { mu, inv, scale, shift });
      s1.fill(0);
      sx.fill(0);
      simd.k.normGradSums(dyPtr + bi * sampleBytes, xPtr + bi * sampleBytes, m, c, scratch + c * 16, scratch + c * 20, relu, scratch, scratch + c * 8);
      gradCoefficients(a, { s1, sx, mu, inv, gamma: gs }, { s2, k1, k2, k3 });
      for (let j = 0; j < c; j++) {
        dg[j] += s2[j];
        db[j] += s1[j];
      }
      simd.k.normGradInput(dyPtr + bi * sampleBytes, xPtr + bi * sampleBytes, dxPtr + bi * sampleBytes, m, c,
        scratch + c * 16, scratch + c * 20, relu, scratch + c * 24, scratch + c * 28, scratch + c * 32);
    }
    dGamma.set(dg);
    dBeta.set(db);
  } finally {
    simd.free(scratch);
  }
}

/** Backends the fused kernels run on (others compose tfjs ops). */
export const NORM_KERNEL_BACKENDS = JS_KERNEL_BACKENDS;

/** The fused norm kernels' configs for `backendName` (wasm and cpu; none elsewhere). */
export function normConfigs(backendName: string): tf.KernelConfig[] {
  return jsKernelConfigs({ [NORM_AFFINE]: forwardKernel, [NORM_AFFINE_GRAD]: backwardKernel }, backendName);
}

/**
 * The fused kernel's gradient, registered with tfjs as its own kernels'
 * are: the tape saves x, γ, β and the kernel's mean and 1/σ outputs as
 * shared handles (engine/tape_saves.ts), where a `customGrad` wrapper
 * cloned five tensors through `Identity` per norm and wrapped the call in
 * scopes of its own. tfjs hands the two statistics outputs that no loss
 * reads a zero gradient, which the kernel ignores.
 */
export const normAffineGradConfig: tf.GradConfig = {
  kernelName: NORM_AFFINE,
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [false, true, true, false],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const [x, gamma, beta, mean, invStd] = saved;
    const d = Array.isArray(dy) ? dy[0] : dy;
    const [dx, dg, db] = tf.engine().runKernel(NORM_AFFINE_GRAD, { dy: d, x, gamma, beta, mean, invStd }, attrs!) as tf.Tensor[];
    return { x: () => dx, gamma: () => dg, beta: () => db };
  },
};
