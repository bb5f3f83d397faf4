/**
 * Weights our conv kernels repack (GEMM panels, Winograd-transformed
 * filters), kept on the heap between calls when no gradient tape is
 * recording: inference then packs each filter once, as ONNX Runtime and
 * XNNPACK do at load, instead of on every call (61 convs of the main job at
 * 128² repacked ~2 MB a forward). Under a tape (training), where the
 * weights change every step, a kernel packs into scratch it frees, as before.
 *
 * An entry is dropped when its tensor's data is disposed, or written over
 * in place (`in_place.ts`'s `written`, the optimizer's route); a variable's
 * `assign` gives it new data, whose first use packs afresh.
 */
import { tf } from './tf';
import { onOverwrite } from './in_place';
import type { Simd } from './simd_module';
import { flag } from '../util/flags';

interface Entry { ptr: number; simd: Simd }

/** Per tensor data, per packing variant (shape and layout), the packed copy. */
const cache = new Map<tf.DataId, Map<string, Entry>>();
const hooked = new WeakSet<object>();

function drop(dataId: tf.DataId): void {
  const byVariant = cache.get(dataId);
  if (!byVariant) return;
  for (const e of byVariant.values()) e.simd.free(e.ptr);
  cache.delete(dataId);
}

onOverwrite((ids) => { for (const id of ids) drop(id); });

/** Frees entries when the backend disposes their data (hooked once per backend). */
function hookDispose(backend: tf.KernelBackend): void {
  if (hooked.has(backend)) return;
  hooked.add(backend);
  const b = backend as unknown as { disposeData(dataId: tf.DataId, force?: boolean): boolean };
  const dispose = b.disposeData.bind(b);
  b.disposeData = (dataId, force) => {
    drop(dataId);
    return dispose(dataId, force);
  };
}

function taping(): boolean {
  return (tf.engine() as unknown as { state: { activeTape: unknown } }).state.activeTape != null;
}

export interface Packed {
  ptr: number;
  /** Frees the buffer if it is not cached; call when the kernel is done. */
  release(): void;
}

/**
 * `bytes` on the heap holding `pack(ptr)` of `weights`: from the cache when
 * `variant` (everything the packing depends on besides the values) was
 * packed before and no tape records, else packed now.
 */
export function packedWeights(simd: Simd, backend: tf.KernelBackend, weights: tf.TensorInfo, variant: string, bytes: number, pack: (ptr: number) => void): Packed {
  if (taping() || flag('GHOSTDET_PACK_CACHE') === '0') {
    const ptr = simd.malloc(Math.max(16, bytes));
    pack(ptr);
    return { ptr, release: () => simd.free(ptr) };
  }
  hookDispose(backend);
  let byVariant = cache.get(weights.dataId);
  if (!byVariant) cache.set(weights.dataId, (byVariant = new Map()));
  let e = byVariant.get(variant);
  if (!e || e.simd !== simd) {
    if (e) e.simd.free(e.ptr);
    e = { ptr: simd.malloc(Math.max(16, bytes)), simd };
    pack(e.ptr);
    byVariant.set(variant, e);
  }
  return { ptr: e.ptr, release: () => undefined };
}

/** Entries held (tests). */
export function packedWeightsHeld(): number {
  let n = 0;
  for (const m of cache.values()) n += m.size;
  return n;
}
