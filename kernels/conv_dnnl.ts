/**
 * Dense and grouped convolutions, forward and both gradients, on oneDNN
 * (engine/dnnl.ts) where the addon is built: the same tensors in the wasm
 * heap, the same geometry our conv GEMMs take, oneDNN's kernels. The GEMM
 * kernels in conv_gemm.ts call these first and run their own where the
 * addon is missing or off. Depthwise convs are grouped convs with one input
 * channel per group: `DepthwiseConv2dNative` (XNNPACK's otherwise, wrapped
 * here) and both its gradients (kernels/conv_grad.ts) come here too.
 */
import { tf } from '../engine/tf';
import type { DnnlAddon, ConvPass } from '@ghostdet/dnnl';
import { dnnlWithThreads } from '../engine/dnnl';
import { storage } from '../engine/kernel_storage';
import { simdFor, Simd } from '../engine/simd_module';
import { wasmThreadCount } from '../engine/wasm_thread_count';
import { Geometry, geometry, geometryInts } from './conv_geometry';
import { replaceKernel } from './replace_kernel';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

const FORWARD: ConvPass = 0, INPUT_GRAD: ConvPass = 1, FILTER_GRAD: ConvPass = 2;

/** Below this many multiply-adds a conv runs on one OpenMP thread: splitting it costs more than it saves (as for our own split, engine/simd_helper.ts). */
const MIN_SPLIT_MACS = 4e6;

/** The addon for this backend's convs, or undefined. */
export function dnnlFor(backend: Backend): DnnlAddon | undefined {
  return dnnlWithThreads(wasmThreadCount(backend));
}

/** Runs one pass on the backend's threads, or on one for a small conv. */
function run(addon: DnnlAddon, simd: Simd, backend: Backend, pass: ConvPass, a: TensorInfo, b: TensorInfo, out: TensorInfo, geo: number[]): void {
  const [n, , , cin, oh, ow, cout, kh, kw, , , , , , , groups] = geo;
  const macs = n * oh * ow * cout * kh * kw * (cin / groups);
  dnnlWithThreads(macs < MIN_SPLIT_MACS ? 1 : wasmThreadCount(backend));
  addon.conv(pass, new Uint8Array(simd.memory.buffer), simd.ptr(a), simd.ptr(b), simd.ptr(out), Int32Array.from(geo));
}

function empty(shape: number[]): boolean {
  return tf.util.sizeFromShape(shape) === 0;
}

/**
 * y = conv(x, filter): NHWC, filter `[kh, kw, Cin/G, Cout]`. A depthwise
 * filter `[kh, kw, C, m]` is the same memory as `[kh, kw, 1, C·m]` with
 * G = C: pass `cout` = C·m.
 */
export function dnnlConv2D(addon: DnnlAddon, simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, g: Geometry, groups: number,
  cout = filter.shape[3]): TensorInfo {
  const [y] = storage(backend, 'wasm').alloc([[x.shape[0], g.outH, g.outW, cout]]).infos;
  if (!empty(y.shape) && !empty(x.shape)) run(addon, simd, backend, FORWARD, x, filter, y, geometryInts(x.shape, cout, g, groups));
  return y;
}

/** dX of y = conv(x, filter), from dY. */
export function dnnlConv2DInputGrad(addon: DnnlAddon, simd: Simd, backend: Backend, dy: TensorInfo, filter: TensorInfo, inputShape: number[],
  g: Geometry, groups: number, cout = filter.shape[3]): TensorInfo {
  const st = storage(backend, 'wasm');
  const [dx] = st.alloc([inputShape]).infos;
  if (empty(dx.shape)) return dx;
  if (empty(dy.shape)) st.read(dx).fill(0);
  else run(addon, simd, backend, INPUT_GRAD, dy, filter, dx, geometryInts(inputShape, cout, g, groups));
  return dx;
}

/** dW `[kh, kw, Cin/G, Cout]` (or a depthwise `[kh, kw, C, m]`, with `cout` = C·m) of y = conv(x, W), from x and dY. */
export function dnnlConv2DFilterGrad(addon: DnnlAddon, simd: Simd, backend: Backend, x: TensorInfo, dy: TensorInfo,
  filterShape: [number, number, number, number], g: Geometry, groups: number, cout = filterShape[3]): TensorInfo {
  const st = storage(backend, 'wasm');
  const [dw] = st.alloc([filterShape]).infos;
  if (empty(dw.shape)) return dw;
  if (empty(x.shape) || empty(dy.shape)) st.read(dw).fill(0);
  else run(addon, simd, backend, FILTER_GRAD, x, dy, dw, geometryInts(x.shape, cout, g, groups));
  return dw;
}

/** A depthwise conv's addon call: G = C groups of one input channel, C·m outputs, where the addon and our SIMD module run and the layout is NHWC. */
export function dnnlDepthwiseFor(backend: Backend, dataFormat: string | undefined): { addon: DnnlAddon; simd: Simd } | undefined {
  if (dataFormat && dataFormat !== 'NHWC') return undefined;
  const simd = simdFor(backend);
  const addon = simd ? dnnlFor(backend) : undefined;
  return simd && addon ? { addon, simd } : undefined;
}

/** oneDNN in front of wasm's `DepthwiseConv2dNative` (XNNPACK's stays the fallback). */
export function dnnlDepthwiseConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  return replaceKernel('DepthwiseConv2dNative', backendName, (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
    const backend = args.backend as Backend;
    const d = dnnlDepthwiseFor(backend, a.dataFormat);
    if (!d) return undefined;
    const [kh, kw, c, m] = filter.shape;
    const g = geometry(x.shape, [kh, kw, c, m], a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
    return dnnlConv2D(d.addon, d.simd, backend, x, filter, g, c, c * m);
  });
}
