/**
 * What every detector gives the trainer and the evaluator (detectron2's
 * meta-architecture split): the network (backbone → neck → head, convolutions
 * only) and, beside it, the detection logic the head leaves out — priors,
 * assignment, losses and post-processing.
 */
import type { tf } from '../runtime/tf';
import type { Backbone } from '../backbones/backbone';
import type { Neck } from '../necks/neck';
import { Module } from '../nn/module';
import type { Target } from '../data/loader';
import type { ImageMeta } from '../data/transforms';

/** A detection in original image pixels; `label` is the contiguous class index. */
export interface Detection {
  box: [number, number, number, number];
  score: number;
  label: number;
}

/** Raw per-level head maps by branch (RetinaNet: cls, reg; YOLOX: cls, reg, obj), each `[N, H, W, C]`. */
export type HeadMaps = Record<string, tf.Tensor4D[]>;

export abstract class Detector<O extends HeadMaps = HeadMaps> extends Module {
  abstract readonly backbone: Backbone;
  abstract readonly neck: Neck;
  abstract readonly head: Module;
  abstract readonly numClasses: number;
  /** Short name for logs and reports ("RetinaNet", "YOLOX"). */
  abstract readonly kind: string;
  /**
   * Switches a training schedule flips mid-run (YOLOX's L1 loss on the last
   * epochs); sent to data-parallel replicas with every step.
   */
  trainFlags: Record<string, boolean> = {};

  /** `[N, H, W, 3]` → raw per-level head maps. */
  abstract forward(images: tf.Tensor4D): O;
  /** Named scalar losses of a batch; their sum is minimised. */
  abstract loss(out: O, targets: Target[]): Record<string, tf.Scalar>;
  /** Decode + NMS per image, boxes in original image pixels via `metas`. */
  abstract predict(out: O, metas: ImageMeta[]): Detection[][];
}
