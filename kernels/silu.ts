/**
 * SiLU's backward pass as one kernel: dx = dy · s · (1 + x · (1 − s)) from
 * the input x and s = sigmoid(x) saved by the forward (PyTorch's
 * `silu_backward`). Through tfjs's gradients of `x · sigmoid(x)` it is seven
 * kernels and as many passes over the map (two products, the sigmoid's
 * s · (1 − s) chain, the sum of the two paths), at every SiLU of YOLOX's
 * neck and head.
 */
import { tf } from '../engine/tf';
import { jsKernelConfigs, runsHere, storage } from '../engine/kernel_storage';
import { simdFor } from '../engine/simd_module';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend };

export const SILU_GRAD = 'GhostdetSiluGrad';

function siluGradKernel(name: 'wasm' | 'cpu') {
  return (args: KernelArgs): TensorInfo => {
    const { dy, x, s } = args.inputs as Record<string, TensorInfo>;
    const st = storage(args.backend, name);
    const out = st.alloc([x.shape]);
    const simd = name === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      simd.k.siluGrad(simd.ptr(dy), simd.ptr(x), simd.ptr(s), simd.ptr(out.infos[0]), tf.util.sizeFromShape(x.shape));
      return out.infos[0];
    }
    const d = st.read(dy), xs = st.read(x), ss = st.read(s), dx = out.views()[0];
    for (let i = 0; i < dx.length; i++) dx[i] = Math.fround(Math.fround(d[i] * ss[i]) * Math.fround(1 + Math.fround(xs[i] * Math.fround(1 - ss[i]))));
    return out.infos[0];
  };
}

/** The SiLU gradient kernel's config for `backendName` (wasm and cpu; none elsewhere). */
export function siluConfigs(backendName: string): tf.KernelConfig[] {
  return jsKernelConfigs({ [SILU_GRAD]: siluGradKernel }, backendName);
}

/** dx of SiLU, one kernel on wasm and cpu, composed ops elsewhere. */
export function siluGrad(dy: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  if (!runsHere(SILU_GRAD)) {
    return tf.tidy(() => tf.mul(tf.mul(dy, s), tf.add(1, tf.mul(x, tf.sub(1, s)))));
  }
  return tf.engine().runKernel(SILU_GRAD, { dy, x, s }) as tf.Tensor;
}
