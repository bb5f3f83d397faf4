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
import { tf } from './tf';
import { JS_KERNEL_BACKENDS, registerJsKernels, storage } from './kernel_storage';

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
function groupStats(sum: Float64Array, sumSq: Float64Array, a: NormAttrs, mean: Float64Array, variance: Float64Array): void {
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

function forwardKernel(backendName: 'wasm' | 'cpu') {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const a = args.attrs as unknown as NormAttrs;
    const st = storage(args.backend, backendName);
    const { b, c, groups } = a;
    const out = st.alloc([x.shape, [b * groups], [b * groups], [b * groups]]);
    const xs = st.read(x), gs = st.read(gamma), bs = st.read(beta);
    const [y, meanOut, invOut, varOut] = out.views();
    const sum = new Float64Array(c), sumSq = new Float64Array(c), mu = new Float64Array(c), vr = new Float64Array(c);
    const scale = new Float64Array(c), shift = new Float64Array(c);
    const cg = c / groups;
    for (let bi = 0; bi < b; bi++) {
      channelMoments(xs, a, bi, sum, sumSq);
      groupStats(sum, sumSq, a, mu, vr);
      for (let j = 0; j < c; j++) {
        const inv = 1 / Math.sqrt(vr[j] + a.eps);
        scale[j] = gs[j] * inv;
        shift[j] = bs[j] - mu[j] * scale[j];
      }
      for (let g = 0; g < groups; g++) {
        meanOut[bi * groups + g] = mu[g * cg];
        varOut[bi * groups + g] = vr[g * cg];
        invOut[bi * groups + g] = 1 / Math.sqrt(vr[g * cg] + a.eps);
      }
      applyAffine(xs, y, a, bi, scale, shift);
    }
    return out.infos;
  };
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
    const { b, m, c, groups } = a;
    const out = st.alloc([x.shape, [c], [c]]);
    const dys = st.read(dy), xs = st.read(x), gs = st.read(gamma), bs = st.read(beta);
    const ms = st.read(mean), is = st.read(invStd);
    const [dx, dGamma, dBeta] = out.views();
    const cg = c / groups, count = m * cg;
    const relu = a.act === 'relu';
    const mu = new Float64Array(c), inv = new Float64Array(c), scale = new Float64Array(c), shift = new Float64Array(c);
    const s1 = new Float64Array(c), sx = new Float64Array(c), s2 = new Float64Array(c), dg = new Float64Array(c), db = new Float64Array(c);
    const k1 = new Float64Array(c), k2 = new Float64Array(c), k3 = new Float64Array(c);
    for (let bi = 0; bi < b; bi++) {
      for (let j = 0; j < c; j++) {
        mu[j] = ms[bi * groups + ((j / cg) | 0)];
        inv[j] = is[bi * groups + ((j / cg) | 0)];
        scale[j] = gs[j] * inv[j];
        shift[j] = bs[j] - mu[j] * scale[j];
      }
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
      for (let j = 0; j < c; j++) s2[j] = inv[j] * (sx[j] - mu[j] * s1[j]);
      for (let g = 0; g < groups; g++) {
        let sa = 0, sb = 0;
        for (let j = g * cg; j < (g + 1) * cg; j++) {
          sa += gs[j] * s1[j];
          sb += gs[j] * s2[j];
        }
        const A = sa / count, Bm = sb / count;
        for (let j = g * cg; j < (g + 1) * cg; j++) {
          const iv = inv[j];
          k1[j] = iv * gs[j];
          k2[j] = -iv * iv * Bm;
          k3[j] = -iv * A + iv * iv * Bm * mu[j];
        }
      }
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

/** Backends the fused kernels run on (others compose tfjs ops). */
export const NORM_KERNEL_BACKENDS = JS_KERNEL_BACKENDS;

/** Registers the fused norm kernels for wasm and cpu (idempotent). */
export function registerNormKernels(): void {
  registerJsKernels({ [NORM_AFFINE]: forwardKernel, [NORM_AFFINE_GRAD]: backwardKernel });
}
