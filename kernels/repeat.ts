/**
 * `[outer, inner]` → `[outer, reps, inner]`, each row repeated: the gradient
 * of a sum over a middle axis (the grouped conv's sum over a group's
 * inputs). tfjs's `broadcastTo` runs wasm's Tile kernel, which took 100 ms
 * a training step on that broadcast alone (one element at a time), and
 * tfjs's gradient of `sum` builds a ones tensor element by element in JS.
 */
import { tf } from '../engine/tf';
import { jsKernelConfigs, runsHere, storage } from '../engine/kernel_storage';
import { simdFor } from '../engine/simd_module';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

export const REPEAT_ROWS = 'GhostdetRepeatRows';

function repeatKernel(name: 'wasm' | 'cpu') {
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const reps = (args.attrs as { reps: number }).reps;
    const [outer, inner] = x.shape;
    const st = storage(args.backend, name);
    const out = st.alloc([[outer, reps, inner]]);
    const simd = name === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      simd.k.repeatRows(simd.ptr(x), simd.ptr(out.infos[0]), outer, reps, inner);
      return out.infos[0];
    }
    const src = st.read(x), dst = out.views()[0];
    for (let o = 0, d = 0; o < outer; o++) {
      const row = src.subarray(o * inner, (o + 1) * inner);
      for (let r = 0; r < reps; r++, d += inner) dst.set(row, d);
    }
    return out.infos[0];
  };
}

/** The row-repeat kernel's config for `backendName` (wasm and cpu; none elsewhere). */
export function repeatConfigs(backendName: string): tf.KernelConfig[] {
  return jsKernelConfigs({ [REPEAT_ROWS]: repeatKernel }, backendName);
}

/** `[outer, inner]` → `[outer, reps, inner]`: one kernel on wasm and cpu, `broadcastTo` elsewhere. */
export function repeatRows(x: tf.Tensor2D, reps: number): tf.Tensor3D {
  const [outer, inner] = x.shape;
  if (!runsHere(REPEAT_ROWS)) return tf.broadcastTo(tf.reshape(x, [outer, 1, inner]), [outer, reps, inner]);
  return tf.engine().runKernel(REPEAT_ROWS, { x }, { reps } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
