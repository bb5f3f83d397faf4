/**
 * Backend choice: native TensorFlow (GPU, then CPU) when its optional package is
 * installed, else WebAssembly with our gradient kernels, else pure JS.
 *
 * `@tensorflow/tfjs-node-gpu` and `@tensorflow/tfjs-node` are optional
 * dependencies: their install downloads libtensorflow and fails without that
 * network, so "Cannot find module" from `require` is the normal fallback signal.
 */
import * as os from 'os';
import { tf } from '../engine/tf';
import { installTapeSaves } from '../engine/tape_saves';
import { installBackwardRelease } from '../engine/backward_release';
import { guardHeap } from '../engine/heap_limit';
import { dnnlStatus } from '../engine/dnnl';
import type { BackendName } from './backend_name';
import { registerAllKernels } from '../kernels/register_all_kernels';
import { registerThreadedWasm } from './wasm_threads';
import { describeAdapter, findGpuAdapter, GpuAdapter, loadTfjsWebGpu, vulkanDriverDeclared, watchGpuDevice } from './webgpu';
import { flag } from '../util/flags';

export type { BackendName } from './backend_name';

/** What `initBackend` ended up with, for the one line every command prints. */
export interface BackendInfo {
  /** tfjs backend name. */
  name: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  /** Package that provides it. */
  pkg: string;
  /** Only for `tensorflow`: whether libtensorflow sees a GPU. */
  gpu?: boolean;
  /** webgpu only: the adapter. */
  adapter?: GpuAdapter;
  /** wasm only: SIMD and thread count. */
  simd?: boolean;
  threads?: number;
  /** wasm only: who runs the convolutions: "oneDNN 2.6.3" (the @ghostdet/dnnl addon), else "ghostdet's wasm kernels". */
  convs?: string;
  /** Why faster backends were skipped (empty when the first choice worked). */
  skipped: string[];
}

let current: BackendInfo | undefined;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

/** Tries to load the native TensorFlow binding; returns the package used or throws why not. */
function loadNative(skipped: string[]): { pkg: string; gpu: boolean } {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
      return { pkg, gpu: pkg.endsWith('-gpu') && nativeSeesGpu() };
    } catch (e) {
      skipped.push(`${pkg}: ${errorText(e)}`);
    }
  }
  throw new Error(
    'the tensorflow backend needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, ' +
      'and neither loads (' + skipped.join('; ') + '). See docs/backends.md, section "GPU".',
  );
}

/**
 * libtensorflow logs the devices it opens but exposes no device list to JS;
 * a GPU build run without CUDA still works on CPU. CUDA_VISIBLE_DEVICES=-1 or
 * an absent libcudart are the common reasons it falls back.
 */
function nativeSeesGpu(): boolean {
  if (process.env.CUDA_VISIBLE_DEVICES === '-1' || process.env.CUDA_VISIBLE_DEVICES === '') return false;
  try {
    const x = tf.tensor1d([1]);
    // A kernel placed on the GPU reports it in `tf.memory()` unreliably; the
    // binding's `isUsingGpuDevice` is the authority where present.
    const backend = tf.backend() as unknown as { isUsingGpuDevice?: () => boolean; binding?: { isUsingGpuDevice?: () => boolean } };
    x.dispose();
    const probe = backend.isUsingGpuDevice ?? backend.binding?.isUsingGpuDevice;
    return probe ? Boolean(probe.call(backend.binding ?? backend)) : true;
  } catch {
    return false;
  }
}

/** XNNPACK threads when none are asked for: GHOSTDET_THREADS, else every core. */
export function defaultThreads(): number {
  const env = flag('GHOSTDET_THREADS');
  if (env !== undefined) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`GHOSTDET_THREADS must be a whole number ≥ 1, got "${env}"`);
    return n;
  }
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

let wasmLoaderChosen = false;

async function useWasm(threads: number, skipped: string[]): Promise<{ simd: boolean; threads: number }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // tfjs's own loader can only start the single-threaded builds under Node
  // (see wasm_threads.ts); with more than one thread we load the threaded one.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // Before the backend starts: tfjs runs each kernel's setup when it does.
  registerAllKernels('wasm');
  // Once per process: replacing a started backend would drop its tensors.
  if (threads > 1 && !wasmLoaderChosen) {
    const restore = registerThreadedWasm(wasm, threads);
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    } catch (e) {
      restore();
      skipped.push(`threaded wasm (${threads} threads): ${errorText(e)}; running single-threaded`);
    }
  }
  wasmLoaderChosen = true;
  if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  await tf.ready();
  guardHeap((tf.backend() as unknown as { wasm: Parameters<typeof guardHeap>[0] }).wasm);
  return { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: wasm.getThreadsCount() };
}

/** Starts tfjs's webgpu backend on Dawn; a software adapter only when asked for by name. */
async function useWebGpu(byName: boolean): Promise<GpuAdapter> {
  if (!byName && !vulkanDriverDeclared()) throw new Error('no Vulkan driver declared (no ICD json, VK_ICD_FILENAMES unset)');
  const adapter = await findGpuAdapter();
  if (adapter.software && !byName) throw new Error(`only a software adapter (${describeAdapter(adapter)}); --backend webgpu uses it`);
  loadTfjsWebGpu();
  registerAllKernels('webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  watchGpuDevice(tf.backend());
  return adapter;
}

/**
 * Selects and initialises a backend.
 * @param want `auto` tries tensorflow → webgpu (a hardware adapter) → wasm → cpu; any other name forces it and
 *   throws a message saying why when it is unavailable.
 * @param threads XNNPACK threads on wasm (default `defaultThreads()`); 1 keeps
 *   the single-threaded build (data-parallel replicas get their share of the cores).
 */
export async function initBackend(want: BackendName = 'auto', threads = defaultThreads()): Promise<BackendInfo> {
  const skipped: string[] = [];
  // cpu is tfjs's fallback everywhere (and the tests' reference): its kernels are always ours.
  registerAllKernels('cpu');
  installTapeSaves();
  installBackwardRelease();
  if (want === 'auto' || want === 'tensorflow') {
    try {
      const native = loadNative(skipped);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      current = { name: 'tensorflow', pkg: native.pkg, gpu: native.gpu, skipped };
      return current;
    } catch (e) {
      if (want === 'tensorflow') throw new Error(`backend "tensorflow" is unavailable: ${errorText(e)}`);
    }
  }
  if (want === 'auto' || want === 'webgpu') {
    try {
      const adapter = await useWebGpu(want === 'webgpu');
      current = { name: 'webgpu', pkg: '@tensorflow/tfjs-backend-webgpu', adapter, skipped };
      return current;
    } catch (e) {
      if (want === 'webgpu') throw new Error(`backend "webgpu" is unavailable: ${errorText(e)}`);
      skipped.push(`webgpu: ${errorText(e)}`);
    }
  }
  if (want === 'auto' || want === 'wasm') {
    try {
      const w = await useWasm(threads, skipped);
      current = { name: 'wasm', pkg: '@tensorflow/tfjs-backend-wasm', ...w, convs: convEngine(), skipped };
      return current;
    } catch (e) {
      if (want === 'wasm') throw new Error(`backend "wasm" is unavailable: ${errorText(e)}`);
      skipped.push(`@tensorflow/tfjs-backend-wasm: ${errorText(e)}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  current = { name: 'cpu', pkg: '@tensorflow/tfjs-backend-cpu', skipped };
  return current;
}

/** The backend chosen by the last `initBackend`, or throws if none was. */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error('initBackend() has not been called');
  return current;
}

/** Who runs wasm's convolutions: oneDNN where its addon is built and on, else our kernels (with why not). */
function convEngine(): string {
  const status = dnnlStatus();
  return status.startsWith('oneDNN') ? status : `ghostdet's wasm kernels (oneDNN ${status}: see docs/kernels.md)`;
}

/** One line naming the backend, for every command's first output. */
export function describeBackend(info: BackendInfo): string {
  let s = `backend: ${info.name} (${info.pkg})`;
  if (info.name === 'tensorflow') s += info.gpu ? ', GPU visible' : ', no GPU visible: running on CPU';
  if (info.name === 'webgpu' && info.adapter) s += `, adapter: ${describeAdapter(info.adapter)}`;
  if (info.name === 'wasm') s += `, simd ${info.simd ? 'on' : 'off'}, ${info.threads} thread${info.threads === 1 ? '' : 's'}, convs on ${info.convs}`;
  s += `; node ${process.version}, ${os.cpus().length} cores`;
  if (info.skipped.some((m) => m.startsWith('@tensorflow/tfjs-node')) && info.name !== 'tensorflow') s += ' [tensorflow not installed: see docs/backends.md "GPU"]';
  for (const m of info.skipped.filter((t) => t.startsWith('threaded wasm'))) s += ` [${m}]`;
  return s;
}
