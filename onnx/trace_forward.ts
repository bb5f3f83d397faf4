/**
 * Records what a detector's forward pass does, as it runs: every tfjs kernel
 * call, except inside the layers that have an ONNX counterpart of their own
 * (`Conv2d` → Conv with `group`, `GroupNorm`), which are recorded whole. The
 * export turns this record into the ONNX graph, so the graph comes from the
 * same module tree and the same forward code that run on tfjs: there is no
 * second model definition to drift.
 *
 * Each record carries the dotted path of the module that was running (as in
 * the state dict), so an op the export cannot express is named with where it
 * came from.
 */
import { tf } from '../engine/tf';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv2d';
import { GroupNorm } from '../nn/groupnorm';

/** A tensor seen by the trace: identity, shape and dtype (values only for constants). */
export interface TracedTensor {
  id: number;
  shape: number[];
  dtype: tf.DataType;
}

/** One tfjs kernel call at the top level of the forward pass. */
export interface KernelRecord {
  kind: 'kernel';
  name: string;
  /** Inputs by the kernel's input names (`x`, `filter`, …; `0`, `1`, … for lists). */
  inputs: Record<string, TracedTensor>;
  attrs: Record<string, unknown>;
  outputs: TracedTensor[];
  path: string;
}

/** A layer recorded whole: its module, its (first) tensor input, extra arguments, its output. */
export interface LayerRecord {
  kind: 'layer';
  layer: Conv2d | GroupNorm;
  input: TracedTensor;
  args: unknown[];
  output: TracedTensor;
  path: string;
}

export type TraceRecord = KernelRecord | LayerRecord;

export interface Trace {
  records: TraceRecord[];
  /** Values of tensors the forward read but did not compute (weights, scalars). */
  constants: Map<number, { tensor: TracedTensor; values: tf.TypedArray }>;
  input: TracedTensor;
  /** The forward's outputs, as it returned them (branch → per-level maps). */
  outputs: Record<string, TracedTensor[]>;
}

/** The layers recorded whole: each maps to ONNX operators of its own in `layer_ops.ts`. */
const WHOLE_LAYERS = [Conv2d, GroupNorm] as const;

const traced = (t: tf.Tensor): TracedTensor => ({ id: t.id, shape: [...t.shape], dtype: t.dtype });

/** Every module below `root` with its dotted path (the root's is ''). */
function modulesWithPaths(root: Module, prefix = ''): Array<[string, Module]> {
  const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ''), root]];
  for (const [name, child] of root.namedChildren()) out.push(...modulesWithPaths(child, `${prefix}${name}.`));
  return out;
}

type ForwardFn = (...args: unknown[]) => unknown;
type RunKernel = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];

/**
 * Runs `forward(input)` on `model` and records it. `model` must be in eval
 * mode; the caller owns `input` and the outputs are disposed here.
 */
export function traceForward(model: Module, input: tf.Tensor4D, forward: (x: tf.Tensor4D) => Record<string, tf.Tensor[]>): Trace {
  const records: TraceRecord[] = [];
  const constants = new Map<number, { tensor: TracedTensor; values: tf.TypedArray }>();
  const produced = new Set<number>([input.id]);
  const paths: string[] = [''];
  let depth = 0; // > 0 inside a kernel or a whole layer: nothing below is recorded

  const see = (t: tf.Tensor): TracedTensor => {
    if (!produced.has(t.id) && !constants.has(t.id)) constants.set(t.id, { tensor: traced(t), values: t.dataSync() as tf.TypedArray });
    return traced(t);
  };

  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const runKernel = engine.runKernel;
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    if (depth > 0) return runKernel.call(this, name, inputs, attrs);
    const ins: Record<string, TracedTensor> = {};
    for (const [k, v] of Object.entries(inputs)) if (v) ins[k] = see(v as tf.Tensor);
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try { out = runKernel.call(this, name, inputs, attrs); } finally { depth--; }
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) produced.add(o.id);
    records.push({ kind: 'kernel', name, inputs: ins, attrs: { ...(attrs ?? {}) }, outputs: outs.map(traced), path: paths[paths.length - 1] });
    return out;
  };

  const restore: Array<() => void> = [() => { engine.runKernel = runKernel; }];
  for (const [path, m] of modulesWithPaths(model)) {
    const own = m as unknown as { forward: ForwardFn };
    const original = own.forward;
    const whole = WHOLE_LAYERS.some((L) => m instanceof L);
    own.forward = function (this: unknown, ...args: unknown[]) {
      if (depth > 0) return original.apply(this, args);
      if (!whole) {
        paths.push(path);
        try { return original.apply(this, args); } finally { paths.pop(); }
      }
      const x = see(args[0] as tf.Tensor);
      depth++;
      let y: tf.Tensor;
      try { y = original.apply(this, args) as tf.Tensor; } finally { depth--; }
      produced.add(y.id);
      records.push({ kind: 'layer', layer: m as Conv2d | GroupNorm, input: x, args: args.slice(1), output: traced(y), path });
      return y;
    };
    const hadOwn = Object.prototype.hasOwnProperty.call(m, 'forward');
    restore.push(() => {
      if (hadOwn) own.forward = original;
      else delete (m as unknown as Record<string, unknown>).forward;
    });
  }

  try {
    const out = forward(input);
    const outputs: Record<string, TracedTensor[]> = {};
    for (const [k, maps] of Object.entries(out)) outputs[k] = maps.map(traced);
    tf.dispose(Object.values(out).flat());
    return { records, constants, input: traced(input), outputs };
  } finally {
    for (const r of restore) r();
  }
}
