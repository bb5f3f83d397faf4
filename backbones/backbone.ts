/**
 * The backbone contract (docs/ARCHITECTURE.md, "Where a backbone plugs in"): a backbone declares the feature maps it
 * gives (`outputs`: name, stride, channels) and `forward` returns exactly those,
 * NHWC, in the same order. Necks read the specs; nobody copies channel lists.
 *
 * Every family here is a stem followed by a list of stage modules named as in
 * the reference code (`blocks.3`, `layer2`, `stages.1`), so one base class
 * handles output selection, freezing and the ImageNet classifier.
 */
import { tf } from '../engine/tf';
import { Layer, Module } from '../nn/module';
import type { Linear } from '../nn/linear';
import { BatchNorm2d } from '../nn/batchnorm';

export interface FeatureSpec {
  name: string;
  /** Pixels of input per feature-map pixel. */
  stride: number;
  channels: number;
}

/** Options every backbone accepts. */
export interface BackboneOptions {
  /** Strides to output (the last stage with each stride); default [8, 16, 32]. */
  outStrides?: number[];
  /** Stage indices to output instead of `outStrides` (into `stages()`). */
  outIndices?: number[];
  /** −1: train all; 0: freeze the stem; N: the stem and the first N stages (eval-mode BN, no gradients). */
  frozenStages?: number;
  /** Build the ImageNet classifier too (for parity tests and weight import); default true. */
  withClassifier?: boolean;
  /**
   * Keep every BatchNorm in eval mode while the rest trains (mmdetection
   * `norm_eval`): running statistics stay as pretrained; the BN affine
   * parameters still learn, as mmdetection's `norm_cfg.requires_grad=True`.
   */
  normEval?: boolean;
}

/** A stage: its reference module name, the module, and what it outputs. */
export interface Stage {
  name: string;
  module: Layer;
  stride: number;
  channels: number;
}

export abstract class Backbone extends Module {
  /** What `forward` returns, in order. */
  outputs: FeatureSpec[] = [];
  /** Parameter-name prefixes of the classifier (excluded from `paramsBackbone`). */
  abstract readonly classifierPrefixes: string[];
  private outIdx: number[] = [];
  private normEval = false;

  /** The stem: input image → first stage input. */
  protected abstract stem(x: tf.Tensor4D): tf.Tensor4D;
  /** Modules of the stem (what `frozenStages: 0` freezes). */
  protected abstract stemModules(): Module[];
  /** Stage modules in execution order; subclasses push to it in their constructors. */
  protected readonly stageList: Stage[] = [];

  stages(): Stage[] {
    return this.stageList;
  }
  /** ImageNet logits from the last stage's output, when the classifier was built. */
  protected abstract classify(x: tf.Tensor4D): tf.Tensor2D;

  /** Call at the end of a subclass constructor, once the stages exist. */
  protected finish(o: BackboneOptions): void {
    const stages = this.stages();
    if (o.outIndices) {
      for (const i of o.outIndices) if (!(i >= 0 && i < stages.length)) throw new Error(`outIndices: ${i} is not a stage index (0..${stages.length - 1})`);
      this.outIdx = [...o.outIndices];
    } else {
      const strides = o.outStrides ?? [8, 16, 32];
      this.outIdx = strides.map((s) => {
        const last = stages.map((st) => st.stride).lastIndexOf(s);
        if (last < 0) throw new Error(`outStrides: no stage has stride ${s} (strides: ${[...new Set(stages.map((st) => st.stride))].join(', ')})`);
        return last;
      });
    }
    this.normEval = o.normEval ?? false;
    this.outputs = this.outIdx.map((i) => ({ name: `c${Math.log2(stages[i].stride)}`, stride: stages[i].stride, channels: stages[i].channels }));
    const frozen = o.frozenStages ?? -1;
    if (frozen >= 0) {
      for (const m of this.stemModules()) m.freeze();
      for (const s of stages.slice(0, frozen)) s.module.freeze();
    }
  }

  /** Train/eval mode; with `normEval`, BatchNorms stay in eval mode in training too. */
  override train(mode = true): this {
    super.train(mode);
    if (mode && this.normEval) {
      const walk = (m: Module): void => {
        if (m instanceof BatchNorm2d) m.training = false;
        for (const [, c] of m.namedChildren()) walk(c);
      };
      walk(this);
    }
    return this;
  }

  /** `[N, H, W, 3]` → the maps of `outputs`, NHWC. */
  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const last = Math.max(...this.outIdx);
      const stages = this.stages();
      const kept = new Map<number, tf.Tensor4D>();
      let h = this.stem(x);
      for (let i = 0; i <= last; i++) {
        h = stages[i].module.forward(h);
        kept.set(i, h);
      }
      return this.outIdx.map((i) => kept.get(i)!);
    });
  }

  /** Every stage's output by reference module name, plus the logits (parity tests). */
  forwardAll(x: tf.Tensor4D): { features: Map<string, tf.Tensor4D>; logits: tf.Tensor2D } {
    const features = new Map<string, tf.Tensor4D>();
    let h = this.stem(x);
    for (const s of this.stages()) {
      h = s.module.forward(h);
      features.set(s.name, h);
    }
    return { features, logits: this.classify(h) };
  }

  /** The ImageNet classifier of the RegNet/VoVNet/ResNet families: global average pool → linear. */
  protected poolLinear(fc: Linear | undefined, x: tf.Tensor4D): tf.Tensor2D {
    if (!fc) throw new Error(`${this.constructor.name} was built without the classifier (withClassifier: false)`);
    return tf.tidy(() => fc.forward(tf.mean(x, [1, 2]) as tf.Tensor2D));
  }

  /** Parameters without the classifier. */
  numParamsBackbone(): number {
    return this.numParams(this.classifierPrefixes);
  }
}
