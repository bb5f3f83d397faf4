/**
 * Plain-JS kernels on the two backends that keep tensors in JS-visible
 * Float32Arrays: wasm (views of its heap) and cpu. Our fused kernels read
 * and write through this, so each is written once for both.
 */
import { tf } from './tf';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

/** Float32 storage of the two backends that keep it in JS-visible memory. */
export interface Storage {
  read(t: TensorInfo): Float32Array;
  /** Allocates every output first: a wasm allocation can grow (and detach) the heap. */
  alloc(shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] };
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}
interface CpuLike {
  data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
}

export function storage(backend: Backend, name: 'wasm' | 'cpu'): Storage {
  if (name === 'wasm') {
    const w = backend as unknown as WasmLike;
    return {
      read: (t) => w.typedArrayFromHeap(t),
      alloc: (shapes) => {
        const infos = shapes.map((s) => w.makeOutput(s, 'float32'));
        return { infos, views: () => infos.map((i) => w.typedArrayFromHeap(i)) };
      },
    };
  }
  const c = backend as unknown as CpuLike;
  return {
    read: (t) => c.data.get(t.dataId).values as Float32Array,
    alloc: (shapes) => {
      const arrays = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
      const infos = shapes.map((s, i) => c.makeTensorInfo(s, 'float32', arrays[i]));
      return { infos, views: () => arrays };
    },
  };
}


/** The backends these kernels run on. */
export const JS_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;
export type JsKernelBackend = (typeof JS_KERNEL_BACKENDS)[number];

/**
 * Whether the current backend's tensors can be read synchronously at no
 * cost: host memory (wasm, cpu) or libtensorflow's host copy. A GPU backend
 * (webgpu, webgl) is read asynchronously, and tfjs-webgpu under Node cannot
 * read synchronously at all.
 */
export function readsOnHost(): boolean {
  return ['wasm', 'cpu', 'tensorflow'].includes(tf.getBackend());
}

/** The current backend when our JS kernels run on it, else undefined (callers fall back to composed ops). */
export function jsKernelBackend(): JsKernelBackend | undefined {
  const name = tf.getBackend();
  return (JS_KERNEL_BACKENDS as readonly string[]).includes(name) ? (name as JsKernelBackend) : undefined;
}

/** Kernel name → a kernel function for a given backend (its storage differs). */
export type JsKernelFactories = Record<string, (backend: JsKernelBackend) => unknown>;

/** The configs of kernels written once for both storages, for `backendName` (none on other backends). */
export function jsKernelConfigs(kernels: JsKernelFactories, backendName: string): tf.KernelConfig[] {
  if (!(JS_KERNEL_BACKENDS as readonly string[]).includes(backendName)) return [];
  const name = backendName as JsKernelBackend;
  return Object.entries(kernels).map(([kernelName, make]) => ({ kernelName, backendName, kernelFunc: make(name) as tf.KernelFunc }));
}

/**
 * Whether `kernelName` is registered for the current backend. Our ops ask
 * this and take their composed-ops path where it is not (webgpu, tensorflow):
 * `kernels/register_all_kernels.ts` is the one place that decides.
 */
export function runsHere(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
