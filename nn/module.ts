/**
 * A small explicit module system over `tf.Variable`, with PyTorch semantics.
 *
 * Parameters and buffers have PyTorch-style dotted names (`blocks.0.0.conv.weight`)
 * built from the names children are registered under, so a reference
 * `state_dict` loads by name. Each parameter records its PyTorch layout, which
 * is all the safetensors loader needs to transpose it into ours.
 */
import { tf } from '../engine/tf';

/**
 * How a tensor is laid out in PyTorch versus here:
 * - `conv`: OIHW `[out, in/groups, kh, kw]` ↔ HWIO `[kh, kw, in/groups, out]`
 * - `depthwise`: `[C·m, 1, kh, kw]` ↔ `[kh, kw, C, m]`
 * - `linear`: `[out, in]` ↔ `[in, out]`
 * - `same`: identical (vectors, BN statistics)
 */
export type Layout = 'conv' | 'depthwise' | 'linear' | 'same';

export interface NamedTensor {
  name: string;
  variable: tf.Variable;
  layout: Layout;
  /** true for parameters (learned), false for buffers (running statistics). */
  isParam: boolean;
}

export class Module {
  /** Train mode: BN uses batch statistics and updates its running ones. */
  training = true;
  /** Frozen modules stay in eval mode and their parameters get no gradient. */
  frozen = false;
  private readonly ownTensors = new Map<string, NamedTensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a learned parameter under `name` (its PyTorch attribute name). */
  protected param(name: string, init: tf.Tensor, layout: Layout = 'same'): tf.Variable {
    const variable = tf.variable(init, true);
    init.dispose();
    this.ownTensors.set(name, { name, variable, layout, isParam: true });
    return variable;
  }

  /** Registers a non-learned state tensor (e.g. BN running mean). */
  protected buffer(name: string, init: tf.Tensor): tf.Variable {
    const variable = tf.variable(init, false);
    init.dispose();
    this.ownTensors.set(name, { name, variable, layout: 'same', isParam: false });
    return variable;
  }

  /** Registers a child module; its tensors are named `name.<their name>`. */
  add<M extends Module>(name: string, child: M): M {
    this.children.set(name, child);
    return child;
  }

  /** Direct children in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  child(name: string): Module | undefined {
    return this.children.get(name);
  }

  /** Every parameter and buffer below this module, with full dotted names, in registration order. */
  namedTensors(prefix = ''): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const t of this.ownTensors.values()) out.push({ ...t, name: prefix + t.name });
    for (const [n, c] of this.children) out.push(...c.namedTensors(`${prefix}${n}.`));
    return out;
  }

  namedParameters(): NamedTensor[] {
    return this.namedTensors().filter((t) => t.isParam);
  }

  /** Parameters that receive gradients (not frozen). */
  trainableVariables(): tf.Variable[] {
    return this.namedParameters().filter((t) => t.variable.trainable).map((t) => t.variable);
  }

  /** Number of learned scalars; `exclude` drops names starting with any prefix. */
  numParams(exclude: string[] = []): number {
    let n = 0;
    for (const t of this.namedParameters()) {
      if (!exclude.some((p) => t.name === p || t.name.startsWith(p + '.'))) n += t.variable.size;
    }
    return n;
  }

  /** Sets train (or eval) mode recursively; frozen modules stay in eval. */
  train(mode = true): this {
    this.training = mode && !this.frozen;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Freezes this module: eval mode forever, parameters excluded from training. */
  freeze(): this {
    this.frozen = true;
    this.training = false;
    for (const t of this.ownTensors.values()) if (t.isParam) t.variable.trainable = false;
    for (const c of this.children.values()) c.freeze();
    return this;
  }

  dispose(): void {
    for (const t of this.ownTensors.values()) t.variable.dispose();
    for (const c of this.children.values()) c.dispose();
    this.ownTensors.clear();
  }
}

/** A module that maps one NHWC feature map to another; what `Sequential` chains. */
export abstract class Layer extends Module {
  abstract forward(x: tf.Tensor4D): tf.Tensor4D;
}
