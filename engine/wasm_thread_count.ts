/** How many XNNPACK threads a tfjs-wasm backend runs (1 where it cannot tell, as on the single-threaded build). */
import { tf } from './tf';

interface ThreadedWasm {
  wasm?: { _getThreadsCount?: () => number; tfjs?: { getThreadsCount?: () => number } };
}

export function wasmThreadCount(backend: tf.KernelBackend): number {
  const w = (backend as unknown as ThreadedWasm).wasm;
  return w?.tfjs?.getThreadsCount?.() ?? w?._getThreadsCount?.() ?? 1;
}
