/**
 * What every detector gives the trainer and the evaluator (detectron2's
 * meta-architecture split): the network (backbone → neck → head, convolutions
 * only) and, beside it, the detection logic the head leaves out — priors,
 * assignment, losses and post-processing.
 */
import { tf } from '../engine/tf';
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

/** Priors of every level (anchors or points, 4 numbers each), levels concatenated. */
export interface LevelPriors {
  all: Float32Array;
  /** Priors per level. */
  counts: number[];
}

/** A head: convolutions from the neck's levels to raw per-level maps. */
export type HeadModule<O extends HeadMaps> = Module & { forward(levels: tf.Tensor4D[]): O };

export interface DetectorParts<H> {
  backbone: Backbone;
  neck: Neck;
  head: H;
  numClasses: number;
}

export abstract class Detector<O extends HeadMaps = HeadMaps, H extends HeadModule<O> = HeadModule<O>> extends Module {
  private readonly priorCache = new Map<string, LevelPriors>();
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly head: H;
  readonly numClasses: number;
  /** Short name for logs and reports ("RetinaNet", "YOLOX"). */
  abstract readonly kind: string;
  /**
   * Switches a training schedule flips mid-run (YOLOX's L1 loss on the last
   * epochs); sent to data-parallel replicas with every step.
   */
  trainFlags: Record<string, boolean> = {};

  /** Registers the parts under mmdetection's names (`backbone`, `neck`, `bbox_head`). */
  constructor(p: DetectorParts<H>) {
    super();
    this.backbone = this.add('backbone', p.backbone);
    this.neck = this.add('neck', p.neck);
    this.head = this.add('bbox_head', p.head);
    this.numClasses = p.numClasses;
  }

  /** Priors for per-level map sizes `[h, w]` from `make(h, w, level)`, cached per input size. */
  protected levelPriors(sizes: Array<[number, number]>, make: (h: number, w: number, level: number) => Float32Array): LevelPriors {
    const key = sizes.map(([h, w]) => `${h}x${w}`).join(',');
    let p = this.priorCache.get(key);
    if (!p) {
      const levels = sizes.map(([h, w], i) => make(h, w, i));
      const all = new Float32Array(levels.reduce((s, l) => s + l.length, 0));
      let off = 0;
      for (const l of levels) { all.set(l, off); off += l.length; }
      p = { all, counts: levels.map((l) => l.length / 4) };
      this.priorCache.set(key, p);
    }
    return p;
  }

  /** `[N, H, W, A·C]` per level → `[N, ΣHWA, C]`. */
  protected flatten(maps: tf.Tensor4D[], c: number): tf.Tensor3D {
    return tf.tidy(() => tf.concat(maps.map((m) => tf.reshape(m, [m.shape[0], -1, c])), 1) as tf.Tensor3D);
  }

  /** `[N, H, W, 3]` → raw per-level head maps. */
  forward(images: tf.Tensor4D): O {
    const out = tf.tidy(() => this.head.forward(this.neck.forward(this.backbone.forward(images))) as unknown as tf.TensorContainer);
    return out as unknown as O;
  }
  /** Named scalar losses of a batch; their sum is minimised. */
  abstract loss(out: O, targets: Target[]): Record<string, tf.Scalar>;
  /**
   * Reads, before the taped step, whatever `loss` needs from the device
   * (asynchronously). Nothing for RetinaNet, whose assignment sees anchors
   * and ground truth only; YOLOX's SimOTA reads its predictions here on a
   * GPU backend.
   */
  async prepareLoss(_images: tf.Tensor4D, _targets: Target[]): Promise<void> {
    return undefined;
  }
  /**
   * Decode + NMS per image, boxes in original image pixels via `metas`. The
   * maps are read asynchronously (a GPU backend may not read synchronously);
   * `out` stays the caller's to dispose.
   */
  abstract predict(out: O, metas: ImageMeta[]): Promise<Detection[][]>;
}

/** The values of several tensors, read asynchronously and in parallel. */
export function readAll(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
}

/** The `[h, w]` of each level's `[N, H, W, C]` map. */
export function levelSizes(maps: tf.Tensor4D[]): Array<[number, number]> {
  return maps.map((m) => [m.shape[1], m.shape[2]]);
}

/** Every tensor of a detector's head output (to dispose it). */
export function headTensors(out: HeadMaps): tf.Tensor[] {
  return Object.values(out).flat();
}
