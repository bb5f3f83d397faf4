/**
 * A tensor as `torch.save` stores it: a view (shape, strides, offset) into a
 * storage that other tensors may share. Its geometry is checked as PyTorch's
 * `as_strided` does before anything is allocated, and its contiguous bytes
 * are made only when asked for (`bytes`), so a checkpoint of many views of
 * one storage holds that storage once, not once per view.
 */
import type { Dtype, StoredTensor } from './safetensors';

export const ITEM_BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export interface Geometry {
  shape: number[];
  stride: number[];
  /** Element offset into the storage. */
  offset: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks a view against a storage of `storageNumel` elements and returns its
 * element count: sizes, strides and offset are non-negative integers (PyTorch
 * refuses negative strides), the count does not overflow, and every index the
 * view can reach, the smallest and the largest, lies inside the storage.
 * Throws a message without the file name; the caller adds it.
 */
export function checkGeometry(g: Geometry, storageNumel: number): number {
  const { shape, stride, offset } = g;
  if (shape.length !== stride.length) throw new Error(`shape [${shape}] has ${shape.length} dims but strides [${stride}] have ${stride.length}`);
  if (!shape.every(isCount)) throw new Error(`shape [${shape}] is not a list of non-negative integers`);
  if (!stride.every(isCount)) throw new Error(`strides [${stride}] are not non-negative integers`);
  if (!isCount(offset)) throw new Error(`storage offset ${offset} is not a non-negative integer`);
  let numel = 1;
  for (const s of shape) {
    numel *= s;
    if (!Number.isSafeInteger(numel)) throw new Error(`shape [${shape}] has more elements than can be counted`);
  }
  if (numel === 0) return 0;
  let last = offset;
  shape.forEach((s, d) => { last += (s - 1) * stride[d]; });
  if (!Number.isSafeInteger(last) || last >= storageNumel) {
    throw new Error(`shape [${shape}] with strides [${stride}] at offset ${offset} reaches element ${last}, past its storage of ${storageNumel} elements`);
  }
  return numel;
}

/** True when the view's elements lie in the storage in row-major order, one after another. */
function isContiguous(g: Geometry): boolean {
  let expected = 1;
  for (let d = g.shape.length - 1; d >= 0; d--) {
    if (g.shape[d] !== 1 && g.stride[d] !== expected) return false;
    expected *= g.shape[d];
  }
  return true;
}

/** Copies a checked view out of `storage` into a new contiguous buffer, innermost runs at a time. */
function gather(g: Geometry, numel: number, item: number, storage: Uint8Array): Uint8Array {
  const out = new Uint8Array(numel * item);
  if (isContiguous(g)) {
    out.set(storage.subarray(g.offset * item, (g.offset + numel) * item));
    return out;
  }
  const dims = g.shape.length;
  const inner = g.shape[dims - 1], innerStride = g.stride[dims - 1];
  const rows = numel / inner;
  const idx = new Array<number>(dims).fill(0);
  let rowStart = g.offset;
  for (let r = 0, o = 0; r < rows; r++) {
    if (innerStride === 1) {
      out.set(storage.subarray(rowStart * item, (rowStart + inner) * item), o);
      o += inner * item;
    } else {
      for (let i = 0, src = rowStart * item; i < inner; i++, src += innerStride * item, o += item) {
        for (let b = 0; b < item; b++) out[o + b] = storage[src + b];
      }
    }
    // Step the outer indices (all but the innermost) in row-major order.
    for (let d = dims - 2; d >= 0; d--) {
      idx[d]++;
      rowStart += g.stride[d];
      if (idx[d] < g.shape[d]) break;
      rowStart -= g.stride[d] * g.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** A checked view whose bytes are gathered each time they are read (not kept). */
export class StridedView implements StoredTensor {
  readonly shape: number[];

  constructor(readonly dtype: Dtype, private readonly g: Geometry, private readonly numel: number, private readonly storage: Uint8Array) {
    this.shape = g.shape;
  }

  get byteLength(): number {
    return this.numel * ITEM_BYTES[this.dtype];
  }

  get bytes(): Uint8Array {
    if (this.numel === 0) return new Uint8Array(0);
    return gather(this.g, this.numel, ITEM_BYTES[this.dtype], this.storage);
  }
}
