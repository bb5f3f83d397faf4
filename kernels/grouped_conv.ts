/**
 * Grouped convolution as one op with its own gradients, on our conv GEMMs
 * (kernels/conv_gemm.ts), which run the groups inside their loops:
 * exact MACs, one kernel call forward and one per gradient. tfjs has no
 * grouped conv; elsewhere nn/conv2d.ts builds one from a dense block-diagonal
 * conv (G× the MACs) or from depthwise products summed over each group's
 * inputs (g_in× the output's memory, and several kernels each way).
 */
import { tf } from '../engine/tf';
import { runsHere } from '../engine/kernel_storage';
import { geometry } from './conv_geometry';
import { conv2DFilterGradGemm, conv2DGemm, conv2DInputGradGemm, convGemmFor } from './conv_gemm';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;
type Pad = 'valid' | tf.backend_util.ExplicitPadding;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap };

export const GROUPED_CONV = 'GhostdetGroupedConv2D';
export const GROUPED_CONV_INPUT_GRAD = 'GhostdetGroupedConv2DBackpropInput';
export const GROUPED_CONV_FILTER_GRAD = 'GhostdetGroupedConv2DBackpropFilter';

interface GroupedConvAttrs { strides: number; pad: Pad; groups: number }

/** The conv's geometry from the input shape and a `[kh, kw, gin, cout]` filter shape. */
function geometryOf(xShape: number[], filterShape: number[], a: GroupedConvAttrs) {
  const [kh, kw, , cout] = filterShape;
  return geometry(xShape, [kh, kw, xShape[3], cout], a.strides, 1, a.pad, undefined, false);
}

function gemm(backend: Backend) {
  const simd = convGemmFor(backend);
  if (!simd) throw new Error(`${GROUPED_CONV} needs the conv GEMMs (wasm with our SIMD module)`);
  return simd;
}

const kernels: Record<string, (args: KernelArgs) => TensorInfo> = {
  [GROUPED_CONV]: ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as GroupedConvAttrs;
    return conv2DGemm(gemm(backend), backend, x, filter, geometryOf(x.shape, filter.shape, a), a.groups);
  },
  [GROUPED_CONV_INPUT_GRAD]: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as GroupedConvAttrs & { inputShape: number[] };
    return conv2DInputGradGemm(gemm(backend), backend, dy, filter, a.inputShape, geometryOf(a.inputShape, filter.shape, a), a.groups);
  },
  [GROUPED_CONV_FILTER_GRAD]: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as GroupedConvAttrs & { filterShape: [number, number, number, number] };
    return conv2DFilterGradGemm(gemm(backend), backend, x, dy, a.filterShape, geometryOf(x.shape, a.filterShape, a), a.groups);
  },
};

/** The grouped conv's kernels on wasm (they need our conv GEMMs; none elsewhere). */
export function groupedConvConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  return Object.entries(kernels).map(([kernelName, kernelFunc]) => ({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc }));
}

/** A registered gradient, as tfjs's own convs have: the tape saves x and the filter without cloning them. */
export const groupedConvGradConfig: tf.GradConfig = {
  kernelName: GROUPED_CONV,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const [x, filter] = saved;
    const d = dy as tf.Tensor;
    return {
      x: () => tf.engine().runKernel(GROUPED_CONV_INPUT_GRAD, { dy: d, filter }, { ...attrs, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel(GROUPED_CONV_FILTER_GRAD, { x, dy: d }, { ...attrs, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  },
};

/** Whether `groupedConv2d` runs here for this conv (else the caller composes one). */
export function groupedConvHere(cin: number, cout: number, groups: number, dilation: number): boolean {
  return runsHere(GROUPED_CONV) && dilation === 1 && cin % groups === 0 && cout % groups === 0 && convGemmFor(tf.backend()) !== undefined;
}

/** y = grouped conv(x, w), w `[kh, kw, Cin/G, Cout]`; only where `groupedConvHere`. */
export function groupedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: Pad, groups: number): tf.Tensor4D {
  const attrs = { strides: stride, pad, groups };
  return tf.engine().runKernel(GROUPED_CONV, { x, filter: w }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
