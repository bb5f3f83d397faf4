/**
 * Overwriting a tensor's storage where no other tensor shares it. tfjs
 * tensors are immutable: an optimizer step or a running average makes
 * three new tensors per parameter and `assign`s them, ~500 allocations,
 * kernel calls and disposals a step for ~180 parameters, where the
 * arithmetic itself is a few milliseconds. On the backends whose storage we
 * reach (wasm's heap, cpu's arrays) a variable that owns its data can be
 * updated where it lies instead: same values, no new tensors.
 *
 * "Owns" is the backend's reference count: a clone or a reshape shares its
 * source's data (count 2), and must keep its values, so those tensors take
 * the immutable route.
 *
 * tfjs-wasm caches XNNPACK operators per tensor (a conv's or matmul's
 * weights packed once, keyed by the filter's id, dropped when it is
 * disposed), so a tensor written in place must also drop those: `written`
 * re-registers it with the backend, which discards them. Where that
 * interface is missing (another tfjs-wasm build) nothing is overwritten.
 */
import { tf } from './tf';
import { jsKernelBackend, JsKernelBackend, storage, Storage } from './kernel_storage';

interface Counted {
  refCount(dataId: tf.DataId): number;
}
interface WasmRegistry {
  dataIdMap: { get(id: tf.DataId): { id: number; memoryOffset: number } | undefined };
  wasm: { tfjs?: { registerTensor?(id: number, size: number, offset: number): void; disposeData?(id: number): void } };
}

function registry(): WasmRegistry['wasm']['tfjs'] {
  return (tf.backend() as unknown as WasmRegistry).wasm?.tfjs;
}

/** The backend whose storage `overwritable` tensors live in, when every tensor given owns its float32 data there. */
export function overwritable(ts: tf.Tensor[]): JsKernelBackend | undefined {
  const name = jsKernelBackend();
  if (!name) return undefined;
  if (name === 'wasm') {
    const r = registry();
    if (typeof r?.registerTensor !== 'function' || typeof r.disposeData !== 'function') return undefined;
  }
  const backend = tf.backend() as unknown as Counted;
  for (const t of ts) {
    if (t.isDisposed || t.dtype !== 'float32' || backend.refCount(t.dataId) !== 1) return undefined;
  }
  return name;
}

/** The current backend's storage (for a backend `overwritable` returned). */
export function storageOf(name: JsKernelBackend): Storage {
  return storage(tf.backend(), name);
}

type OverwriteListener = (dataIds: tf.DataId[]) => void;
const listeners: OverwriteListener[] = [];

/** Calls `fn` with the data of tensors written over in place (caches derived from their old values drop them). */
export function onOverwrite(fn: OverwriteListener): void {
  listeners.push(fn);
}

/** After writing over tensors' storage: on wasm, drops what the backend (and `onOverwrite` listeners) cached from their old values. */
export function written(ts: tf.Tensor[]): void {
  for (const fn of listeners) fn(ts.map((t) => t.dataId));
  if (jsKernelBackend() !== 'wasm') return;
  const r = registry()!;
  const map = (tf.backend() as unknown as WasmRegistry).dataIdMap;
  for (const t of ts) {
    const d = map.get(t.dataId);
    if (!d) continue;
    // dispose_data drops the registration and the operators cached for it, not the memory (tfjs-wasm frees that itself).
    r.disposeData!(d.id);
    r.registerTensor!(d.id, t.size, d.memoryOffset);
  }
}
