/**
 * Normalisation + per-channel affine as one kernel forward and one backward,
 * for the wasm and cpu backends (both keep tensors in plain Float32Arrays).
 *
 * Composed from tfjs ops, a training BatchNorm or GroupNorm costs ~15 kernel
 * calls and full passes over the activation, and on wasm every `Mean`/`Sum`
 * over the leading axes of NHWC first transposes the whole tensor. Here the
 * forward reads x three times (mean, variance, output) and the backward twice
 * (two per-channel sums, then dx), in float64.
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

/** Per (b, c) sums of `f(x)` over M, into `acc[b·C + c]`. */
function channelSums(x: Float32Array, a: NormAttrs, bi: number, acc: Float64Array, sub?: Float64Array): void {
  const { m, c } = a;
  const base = bi * m * c;
  acc.fill(0, bi * c, bi * c + c);
  for (let i = 0; i < m; i++) {
    const off = base + i * c;
    if (sub) {
      for (let j = 0; j < c; j++) {
        const d = x[off + j] - sub[j];
        acc[bi * c + j] += d * d;
      }
    } else {
      for (let j = 0; j < c; j++) acc[bi * c + j] += x[off + j];
    }
  }
}

/** Σ over each group's channels of `acc[b·C + c]`, divided by the group's count, spread back per channel. */
function groupMeans(acc: Float64Array, a: NormAttrs, bi: number, out: Float64Array): void {
  const cg = a.c / a.groups, count = a.m * cg;
  for (let g = 0; g < a.groups; g++) {
    let s = 0;
    for (let j = g * cg; j < (g + 1) * cg; j++) s += acc[bi * a.c + j];
    for (let j = g * cg; j < (g + 1) * cg; j++) out[j] = s / count;
  }
}

function forwardKernel(backendName: 'wasm' | 'cpu') {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const a = args.attrs as unknown as NormAttrs;
    const st = storage(args.backend, backendName);
    const { b, m, c, groups } = a;
    const out = st.alloc([x.shape, [b * groups], [b * groups], [b * groups]]);
    const xs = st.read(x), gs = st.read(gamma), bs = st.read(beta);
    const [y, meanOut, invOut, varOut] = out.views();
    const acc = new Float64Array(b * c), mu = new Float64Array(c), vr = new Float64Array(c);
    const scale = new Float64Array(c), shift = new Float64Array(c);
    const cg = c / groups;
    const relu = a.act === 'relu';
    for (let bi = 0; bi < b; bi++) {
      channelSums(xs, a, bi, acc);
      groupMeans(acc, a, bi, mu);
      // Two passes (mean, then squared deviations) as PyTorch: E[x²] − E[x]² cancels badly.
      channelSums(xs, a, bi, acc, mu);
      groupMeans(acc, a, bi, vr);
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
      const base = bi * m * c;
      for (let i = 0; i < m; i++) {
        const off = base + i * c;
        for (let j = 0; j < c; j++) {
          const v = xs[off + j] * scale[j] + shift[j];
          y[off + j] = relu && v < 0 ? 0 : v;
        }
      }
    }
    return out.infos;
  };
}

/**
 * dβ = Σ dy', dγ = Σ dy'·x̂ and, per group with count n,
 * dx = σ⁻¹·(γ·dy' − Σ_g γ·dy'/n − x̂·Σ_g γ·dy'·x̂/n), where dy' is dy masked
 * by the activation. dx is then k1·dy' + k2·x + k3 with per-channel k.
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
    const mu = new Float64Array(c), inv = new Float64Array(c);
    const s1 = new Float64Array(c), s2 = new Float64Array(c), dg = new Float64Array(c), db = new Float64Array(c);
    const k1 = new Float64Array(c), k2 = new Float64Array(c), k3 = new Float64Array(c);
    for (let bi = 0; bi < b; bi++) {
      for (let j = 0; j < c; j++) {
        mu[j] = ms[bi * groups + ((j / cg) | 0)];
        inv[j] = is[bi * groups + ((j / cg) | 0)];
      }
      s1.fill(0);
      s2.fill(0);
      const base = bi * m * c;
      for (let i = 0; i < m; i++) {
        const off = base + i * c;
        for (let j = 0; j < c; j++) {
          const xh = (xs[off + j] - mu[j]) * inv[j];
          let g = dys[off + j];
          if (relu && xh * gs[j] + bs[j] < 0) g = 0;
          s1[j] += g;
          s2[j] += g * xh;
        }
      }
      for (let g = 0; g < groups; g++) {
        let sa = 0, sb = 0;
        for (let j = g * cg; j < (g + 1) * cg; j++) {
          sa += gs[j] * s1[j];
          sb += gs[j] * s2[j];
        }
        for (let j = g * cg; j < (g + 1) * cg; j++) {
          const iv = inv[j], A = sa / count, Bm = sb / count;
          k1[j] = iv * gs[j];
          k2[j] = -iv * iv * Bm;
          k3[j] = -iv * A + iv * iv * Bm * mu[j];
        }
      }
      for (let j = 0; j < c; j++) {
        dg[j] += s2[j];
        db[j] += s1[j];
      }
      for (let i = 0; i < m; i++) {
        const off = base + i * c;
        for (let j = 0; j < c; j++) {
          const xv = xs[off + j];
          let g = dys[off + j];
          if (relu && ((xv - mu[j]) * inv[j]) * gs[j] + bs[j] < 0) g = 0;
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
