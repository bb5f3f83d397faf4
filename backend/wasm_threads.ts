/**
 * The threaded SIMD build of tfjs-backend-wasm under Node, so that XNNPACK's
 * thread pool (convolutions, matmuls, most of a training step's FLOPs) uses
 * every core of one process.
 *
 * tfjs's own loader cannot start it under Node: it hands Emscripten the
 * pthread worker script as a `blob:` URL, and Node's `worker_threads` only
 * starts files. We load the same Emscripten module ourselves and give it the
 * worker script as a real file (the package ships its text as a JS string;
 * written once to the temp folder). Two more things the browser path gets for
 * free are supplied here: the backend caps its pool at half of
 * `emscripten_num_logical_cores()` (it assumes two hyper-threads per core), so
 * we report 2 × the threads asked for; and `module.tfjs`, the C entry points
 * tfjs's loader would wrap, is wrapped the same way.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../engine/tf';
import { writeFileAtomic } from '../util/atomic_write';

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm');

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: Record<string, (...a: number[]) => number>;
  PThread?: { runningWorkers: Array<{ unref(): void }>; unusedWorkers: Array<{ unref(): void }> };
}
interface EmscriptenConfig {
  locateFile(file: string, prefix: string): string;
  instantiateWasm(imports: { env: Record<string, unknown> }, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void): object;
}
type EmscriptenFactory = (config: EmscriptenConfig) => Promise<EmscriptenModule>;

function wasmOutDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
}

/**
 * The pthread worker script as a file. The package keeps it in a template
 * literal, where its `\n` escapes have become real newlines inside string
 * literals; they are escaped back (as tfjs does before making its Blob).
 */
function workerScript(dir: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `ghostdet-tfjs-wasm-pthread-${hash}.js`);
  if (!fs.existsSync(file)) writeFileAtomic(file, text);
  return file;
}

/**
 * Emscripten's Node glue installs process-wide handlers that rethrow every
 * uncaught error from inside its minified file, so Node would print a
 * 100 kB source line above each of our own error messages. Node's defaults
 * already end the process on those errors.
 */
type Listeners = { uncaughtException: NodeJS.UncaughtExceptionListener[]; unhandledRejection: NodeJS.UnhandledRejectionListener[] };

function listeners(): Listeners {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

function dropListenersAdded(before: Listeners): void {
  for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
}

/**
 * XNNPACK's pool threads wait for work for the life of the process, and
 * Emscripten keeps a running pthread's Worker referenced: without this, a
 * command that is done would never exit.
 */
function unrefWorkers(module: EmscriptenModule): void {
  const p = module.PThread;
  if (!p) return;
  for (const w of [...p.runningWorkers, ...p.unusedWorkers]) w.unref();
}

async function loadThreadedModule(threads: number): Promise<EmscriptenModule> {
  const dir = wasmOutDir();
  const worker = workerScript(dir);
  const wasmFile = path.join(dir, 'tfjs-backend-wasm-threaded-simd.wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.js')) as EmscriptenFactory;
  const before = listeners();
  const module = await new Promise<EmscriptenModule>((resolve, reject) => {
    factory({
      locateFile: (file, prefix) => (file.endsWith('.worker.js') ? worker : prefix + file),
      instantiateWasm: (imports, receive) => {
        imports.env.emscripten_num_logical_cores = () => 2 * threads;
        WebAssembly.instantiate(fs.readFileSync(wasmFile), imports as WebAssembly.Imports).then((r) => receive(r.instance, r.module), reject);
        return {};
      },
    }).then(resolve, reject);
  });
  dropListenersAdded(before);
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

/**
 * Replaces tfjs's `wasm` backend factory with one that starts the threaded
 * build with `threads` XNNPACK threads (call before `tf.setBackend('wasm')`).
 * The backend's kernels are unchanged: they are registered by name, not by
 * build. Returns a function that puts tfjs's own (single-threaded) factory back.
 */
export function registerThreadedWasm(wasm: WasmPackage, threads: number): () => void {
  if (!Number.isInteger(threads) || threads < 2) throw new Error(`registerThreadedWasm: threads must be an integer ≥ 2, got ${threads}`);
  // Typed as always present; it is undefined for an unregistered name.
  const original = tf.findBackendFactory('wasm') as ReturnType<typeof tf.findBackendFactory> | undefined;
  if (original) tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const module = await loadThreadedModule(threads);
    wasm.setThreadsCount(threads);
    // The constructor starts the pool (pthreadpool_create).
    const backend = new wasm.BackendWasm(module as unknown as ConstructorParameters<typeof wasm.BackendWasm>[0]);
    unrefWorkers(module);
    return backend;
  }, 2);
  return () => {
    tf.removeBackend('wasm');
    if (original) tf.registerBackend('wasm', original, 2);
  };
}
