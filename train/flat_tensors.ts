/**
 * Tensors to and from one flat Float32Array, the form weights and gradients
 * take between replicas: one buffer instead of one per tensor,
 * filled straight from the backend's storage (the wasm heap, the cpu
 * backend's arrays) instead of a `dataSync` per tensor, each an engine call
 * and a copy of its own (~400 a step each way).
 */
import { tf } from '../engine/tf';
import { jsKernelBackend, storage } from '../engine/kernel_storage';
import { overwritable, storageOf, written } from '../engine/in_place';

/** The tensors end to end, and each one's element count (−1 where a tensor is absent). */
export interface Packed { flat: Float32Array; sizes: number[] }

/** Element offset of each tensor in the flat buffer (−1 where absent). */
export function offsetsOf(sizes: number[]): number[] {
  let at = 0;
  return sizes.map((n) => {
    if (n < 0) return -1;
    const o = at;
    at += n;
    return o;
  });
}

/** Element count of the tensors end to end. */
export function packedLength(ts: Array<tf.Tensor | undefined>): number {
  return ts.reduce((s, t) => s + (t ? t.size : 0), 0);
}

/**
 * The tensors end to end in a new buffer, or at the start of `into` (which
 * must hold `packedLength(ts)` floats; `flat` is then that prefix of it).
 */
export function packTensors(ts: Array<tf.Tensor | undefined>, into?: Float32Array): Packed {
  const sizes = ts.map((t) => (t ? t.size : -1));
  const length = sizes.reduce((s, n) => s + Math.max(n, 0), 0);
  if (into && into.length < length) throw new Error(`packTensors: the buffer holds ${into.length} floats, the tensors ${length}`);
  const flat = into ? into.subarray(0, length) : new Float32Array(length);
  const name = jsKernelBackend();
  const st = name ? storage(tf.backend(), name) : undefined;
  const offsets = offsetsOf(sizes);
  ts.forEach((t, i) => {
    if (!t) return;
    if (t.dtype !== 'float32') throw new Error(`packTensors: tensor ${i} is ${t.dtype}, not float32`);
    flat.set(st ? st.read(t) : (t.dataSync() as Float32Array), offsets[i]);
  });
  return { flat, sizes };
}

/** Views of the flat buffer, one per tensor (undefined where absent). */
export function unpackViews(p: Packed): Array<Float32Array | undefined> {
  const offsets = offsetsOf(p.sizes);
  return p.sizes.map((n, i) => (n < 0 ? undefined : p.flat.subarray(offsets[i], offsets[i] + n)));
}

/**
 * The packed values into the variables, in order: copied over a variable's
 * own storage where it owns it (engine/in_place.ts), else assigned a new
 * tensor. Sizes must match.
 */
export function unpackInto(vars: tf.Variable[], p: Packed): void {
  const views = unpackViews(p);
  tf.tidy(() => vars.forEach((v, i) => {
    const values = views[i];
    if (!values || values.length !== v.size) throw new Error(`unpackInto: tensor ${i} has ${v.size} elements, the buffer ${values?.length ?? 'none'}`);
    const name = overwritable([v]);
    if (name) {
      storageOf(name).read(v).set(values);
      written([v]);
    }
    // Inside tidy: assign() keeps the data, tidy drops the temporary handle.
    else v.assign(tf.tensor(values, v.shape));
  }));
}
