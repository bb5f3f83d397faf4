/**
 * Dense and grouped convolutions, forward and both gradients, on oneDNN
 * (engine/dnnl.ts) where the addon is built: the same tensors in the wasm
 * heap, the same geometry our conv GEMMs take, oneDNN's kernels. The GEMM
 * kernels in conv_gemm.ts call these first and run their own where the
 * addon is missing or off.
 */
import { tf } from '../engine/tf';
import type { DnnlAddon, ConvPass } from '@ghostdet/dnnl';
import { dnnlWithThreads } from '../engine/dnnl';
import { storage } from '../engine/kernel_storage';
import type { Simd } from '../engine/simd_module';
import { wasmThreadCount } from '../engine/wasm_thread_count';
import { Geometry, geometryInts } from './conv_geometry';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

const FORWARD: ConvPass = 0, INPUT_GRAD: ConvPass = 1, FILTER_GRAD: ConvPass = 2;

/** The addon for this backend's convs, with its threads matching the backend's, or undefined. */
export function dnnlFor(backend: Backend): DnnlAddon | undefined {
  return dnnlWithThreads(wasmThreadCount(backend));
}

function run(addon: DnnlAddon, simd: Simd, pass: ConvPass, a: TensorInfo, b: TensorInfo, out: TensorInfo, geo: number[]): void {
  addon.conv(pass, new Uint8Array(simd.memory.buffer), simd.ptr(a), simd.ptr(b), simd.ptr(out), Int32Array.from(geo));
}

function empty(shape: number[]): boolean {
  return tf.util.sizeFromShape(shape) === 0;
}

/** y = conv(x, filter): NHWC, filter `[kh, kw, Cin/G, Cout]`. */
export function dnnlConv2D(addon: DnnlAddon, simd: Simd, backend: Backend, x: TensorInfo, filter: TensorInfo, g: Geometry, groups: number): TensorInfo {
  const cout = filter.shape[3];
  const [y] = storage(backend, 'wasm').alloc([[x.shape[0], g.outH, g.outW, cout]]).infos;
  if (!empty(y.shape) && !empty(x.shape)) run(addon, simd, FORWARD, x, filter, y, geometryInts(x.shape, cout, g, groups));
  return y;
}

/** dX of y = conv(x, filter), from dY. */
export function dnnlConv2DInputGrad(addon: DnnlAddon, simd: Simd, backend: Backend, dy: TensorInfo, filter: TensorInfo, inputShape: number[],
  g: Geometry, groups: number): TensorInfo {
  const st = storage(backend, 'wasm');
  const [dx] = st.alloc([inputShape]).infos;
  if (empty(dx.shape)) return dx;
  if (empty(dy.shape)) st.read(dx).fill(0);
  else run(addon, simd, INPUT_GRAD, dy, filter, dx, geometryInts(inputShape, filter.shape[3], g, groups));
  return dx;
}

/** dW `[kh, kw, Cin/G, Cout]` of y = conv(x, W), from x and dY. */
export function dnnlConv2DFilterGrad(addon: DnnlAddon, simd: Simd, backend: Backend, x: TensorInfo, dy: TensorInfo,
  filterShape: [number, number, number, number], g: Geometry, groups: number): TensorInfo {
  const st = storage(backend, 'wasm');
  const [dw] = st.alloc([filterShape]).infos;
  if (empty(dw.shape)) return dw;
  if (empty(x.shape) || empty(dy.shape)) st.read(dw).fill(0);
  else run(addon, simd, FILTER_GRAD, x, dy, dw, geometryInts(x.shape, filterShape[3], g, groups));
  return dw;
}
