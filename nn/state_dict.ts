/**
 * PyTorch `state_dict` ↔ module: copies PyTorch-layout tensors (OIHW convs,
 * [out, in] linears) into our parameters (HWIO, [in, out]) by name, and back.
 */
import { tf } from '../engine/tf';
import type { Layout, Module } from './module';
import { readSafetensors, RawTensor } from '../weights/safetensors';

/** PyTorch shape → ours, and the transpose that takes PyTorch data to ours. */
function toOurs(layout: Layout, shape: number[], data: Float32Array, target: number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, shape, 'float32');
    switch (layout) {
      case 'same': return t;
      case 'linear': return tf.transpose(t, [1, 0]);
      case 'conv': return tf.transpose(t, [2, 3, 1, 0]);
      case 'depthwise': {
        // [C·m, 1, kh, kw] → [kh, kw, C·m] → [kh, kw, C, m] (channel c·m + j is [c, j]).
        const [cm, , kh, kw] = shape;
        if (target.length !== 4 || target[2] * target[3] !== cm) return tf.reshape(t, [-1]);
        return tf.reshape(t, [cm, kh, kw]).transpose([1, 2, 0]).reshape(target);
      }
    }
  });
}

/** Our tensor → PyTorch layout `[shape, data]`. */
export async function toTorchLayout(layout: Layout, t: tf.Tensor): Promise<{ shape: number[]; data: Float32Array }> {
  const out = tf.tidy(() => {
    let out: tf.Tensor;
    switch (layout) {
      case 'same': out = t; break;
      case 'linear': out = tf.transpose(t, [1, 0]); break;
      case 'conv': out = tf.transpose(t, [3, 2, 0, 1]); break;
      case 'depthwise': {
        const [kh, kw, c, m] = t.shape;
        out = tf.reshape(t, [kh, kw, c * m]).transpose([2, 0, 1]).reshape([c * m, 1, kh, kw]);
        break;
      }
    }
    return layout === 'same' ? out.clone() : out;
  });
  // Read outside tidy (it walks every element of a returned typed array), asynchronously (a GPU backend may not read synchronously).
  const res = { shape: out.shape, data: (await out.data()) as Float32Array };
  out.dispose();
  return res;
}

function asFloat32(t: RawTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data as ArrayLike<number>);
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

/** Our shape for a PyTorch-layout shape, without moving data (undefined when the layout cannot apply). */
function oursShape(layout: Layout, shape: number[], target: number[]): number[] | undefined {
  switch (layout) {
    case 'same': return shape;
    case 'linear': return shape.length === 2 ? [shape[1], shape[0]] : undefined;
    case 'conv': return shape.length === 4 ? [shape[2], shape[3], shape[1], shape[0]] : undefined;
    case 'depthwise': return shape.length === 4 && shape[1] === 1 && target.length === 4 && target[2] * target[3] === shape[0] ? [shape[2], shape[3], target[2], target[3]] : undefined;
  }
}

const listed = (what: string, names: string[]): string =>
  names.length ? `  ${what} (${names.length}): ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}\n` : '';

/**
 * Copies a PyTorch-layout state dict into `module` by name, transposing as each
 * parameter's layout says. Like `load_state_dict(strict)`: with `strict`, any
 * missing or unexpected key is an error listing them; shape mismatches always
 * are, each with both shapes. Everything is checked before anything is written,
 * so a failed load leaves the module as it was.
 * `num_batches_tracked` (a PyTorch BN counter we do not keep) is accepted and ignored.
 */
export function loadStateDict(module: Module, tensors: Map<string, RawTensor>, opts: { strict?: boolean; source?: string } = {}): LoadReport {
  const source = opts.source ?? 'state dict';
  const ours = module.namedTensors();
  const names = new Set(ours.map((t) => t.name));
  const missing = ours.filter((t) => !tensors.has(t.name)).map((t) => t.name);
  const unexpected = [...tensors.keys()].filter((k) => !names.has(k) && !k.endsWith('num_batches_tracked'));
  const mismatched: string[] = [];
  for (const t of ours) {
    const raw = tensors.get(t.name);
    const shape = raw && oursShape(t.layout, raw.shape, t.variable.shape);
    if (raw && !(shape && tf.util.arraysEqual(shape, t.variable.shape))) mismatched.push(`${t.name}: checkpoint [${raw.shape}], model [${toTorchShape(t.layout, t.variable.shape)}] (PyTorch layout)`);
  }
  if (mismatched.length || (opts.strict && (missing.length || unexpected.length))) {
    throw new Error(`${source}: error loading state dict:\n${listed('shape mismatches', mismatched)}${opts.strict ? listed('missing keys', missing) + listed('unexpected keys', unexpected) : ''}`.trimEnd());
  }
  for (const t of ours) {
    const raw = tensors.get(t.name);
    if (!raw) continue;
    const value = toOurs(t.layout, raw.shape, asFloat32(raw), t.variable.shape);
    t.variable.assign(value);
    value.dispose();
  }
  return { missing, unexpected };
}

/** Our shape → PyTorch's, for messages. */
function toTorchShape(layout: Layout, s: number[]): number[] {
  switch (layout) {
    case 'same': return s;
    case 'linear': return [s[1], s[0]];
    case 'conv': return [s[3], s[2], s[0], s[1]];
    case 'depthwise': return [s[2] * s[3], 1, s[0], s[1]];
  }
}

/** Reads a safetensors file into `module` (see `loadStateDict`). */
export function loadSafetensors(module: Module, file: string, opts: { strict?: boolean } = {}): LoadReport {
  return loadStateDict(module, readSafetensors(file).tensors, { ...opts, source: file });
}

/** The module's parameters and buffers in PyTorch layout, ready to write. */
export async function moduleStateDict(module: Module): Promise<Map<string, RawTensor>> {
  const out = new Map<string, RawTensor>();
  for (const t of module.namedTensors()) {
    const { shape, data } = await toTorchLayout(t.layout, t.variable);
    out.set(t.name, { dtype: 'F32', shape, data });
  }
  return out;
}
