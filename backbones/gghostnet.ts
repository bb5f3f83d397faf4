/**
 * G-GhostNet (Han et al., "GhostNets on Heterogeneous Devices via Cheap
 * Operations", IJCV 2022, arXiv 2201.03297): RegNetX with G-Ghost stages, as
 * the official code builds it (huawei-noah/Efficient-AI-Backbones
 * `g_ghost_pytorch/g_ghost_regnet.py`), names included.
 *
 * A G-Ghost stage of n blocks keeps the first (`base`) and last (`end`) blocks
 * at full width. Of the base output, the first `raw` channels go through n−2
 * thin blocks (`layers`); the other `cheap` channels only go through a 1×1
 * conv + BN (`cheap`), to which the `merge` branch adds information from the
 * deep path (GAP of all intermediate outputs → 1×1 → BN → ReLU → 1×1 → BN);
 * ReLU, concatenation with the thin path, then `end`. Its point is GPU speed:
 * fewer sequential layers carry full width, and no depthwise convs.
 */
import { tf } from '../engine/tf';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Layer, Module } from '../nn/module';
import { globalAvgPool } from '../nn/pool';
import { Sequential } from '../nn/sequential';
import { Act } from '../nn/activations';
import { Backbone, BackboneOptions } from './backbone';

/** RegNetX bottleneck (expansion 1): 1×1 → grouped 3×3 (stride) → 1×1, each with BN; residual; ReLU. */
export class RegNetBottleneck extends Layer {
  private readonly conv1: Conv2d; private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d; private readonly bn2: BatchNorm2d;
  private readonly conv3: Conv2d; private readonly bn3: BatchNorm2d;
  private readonly downsample?: Sequential;

  constructor(inplanes: number, planes: number, stride: number, groupWidth: number, downsample: boolean) {
    super();
    const width = planes;
    this.conv1 = this.add('conv1', new Conv2d({ inChannels: inplanes, outChannels: width, kernelSize: 1 }));
    this.bn1 = this.add('bn1', new BatchNorm2d(width));
    this.conv2 = this.add('conv2', new Conv2d({ inChannels: width, outChannels: width, kernelSize: 3, stride, padding: 1, groups: Math.floor(width / Math.min(width, groupWidth)) }));
    this.bn2 = this.add('bn2', new BatchNorm2d(width));
    this.conv3 = this.add('conv3', new Conv2d({ inChannels: width, outChannels: planes, kernelSize: 1 }));
    this.bn3 = this.add('bn3', new BatchNorm2d(planes));
    if (downsample) {
      this.downsample = this.add('downsample', new Sequential([
        new Conv2d({ inChannels: inplanes, outChannels: planes, kernelSize: 1, stride }), new BatchNorm2d(planes),
      ]));
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.bn1.forwardRelu(this.conv1.forward(x));
      h = this.bn2.forwardRelu(this.conv2.forward(h));
      h = this.bn3.forward(this.conv3.forward(h));
      return tf.relu(tf.add(h, this.downsample ? this.downsample.forward(x) : x)) as tf.Tensor4D;
    });
  }
}

export interface GGhostStageOptions {
  inplanes: number;
  planes: number;
  groupWidth: number;
  /** Number of blocks n (≥ 3). */
  blocks: number;
  stride: number;
  /** Fraction of the width that takes the cheap path (the paper's λ); official 0.5. */
  cheapRatio?: number;
}

/** A G-Ghost stage over RegNetX bottlenecks (see the file comment). */
export class GGhostStage extends Layer {
  readonly rawPlanes: number;
  readonly cheapPlanes: number;
  private readonly base: RegNetBottleneck;
  private readonly end: RegNetBottleneck;
  private readonly merge: Sequential;
  private readonly cheap: Sequential;
  private readonly layers: Sequential;

  constructor(o: GGhostStageOptions) {
    super();
    if (o.blocks < 3) throw new Error(`a G-Ghost stage needs at least 3 blocks, got ${o.blocks}`);
    const { planes } = o;
    this.base = this.add('base', new RegNetBottleneck(o.inplanes, planes, o.stride, o.groupWidth, o.stride !== 1 || o.inplanes !== planes));
    this.end = this.add('end', new RegNetBottleneck(planes, planes, 1, o.groupWidth, false));
    // The thin blocks use 3/4 of the group width, and the raw width is a multiple of it.
    const gw = Math.floor(o.groupWidth * 0.75);
    this.rawPlanes = Math.floor((planes * (1 - (o.cheapRatio ?? 0.5))) / gw) * gw;
    this.cheapPlanes = planes - this.rawPlanes;
    const raw = this.rawPlanes, cheap = this.cheapPlanes;
    this.merge = this.add('merge', new Sequential([
      new Act('identity'), // index 0 is the AdaptiveAvgPool2d of the reference; applied in forward
      new Conv2d({ inChannels: planes + raw * (o.blocks - 2), outChannels: cheap, kernelSize: 1 }),
      new BatchNorm2d(cheap),
      new Act('relu'),
      new Conv2d({ inChannels: cheap, outChannels: cheap, kernelSize: 1 }),
      new BatchNorm2d(cheap),
    ]));
    this.cheap = this.add('cheap', new Sequential([new Conv2d({ inChannels: cheap, outChannels: cheap, kernelSize: 1 }), new BatchNorm2d(cheap)]));
    this.layers = this.add('layers', new Sequential(Array.from({ length: o.blocks - 2 }, () => new RegNetBottleneck(raw, raw, 1, gw, false))));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const x0 = this.base.forward(x);
      const pooled: tf.Tensor4D[] = [globalAvgPool(x0)];
      let e: tf.Tensor4D = tf.slice(x0, [0, 0, 0, 0], [-1, -1, -1, this.rawPlanes]);
      for (const l of this.layers.layers) {
        e = l.forward(e);
        pooled.push(globalAvgPool(e));
      }
      // GAP of the concatenation = concatenation of the GAPs: avoids one full-size concat.
      const m = this.merge.forward(tf.concat(pooled, 3) as tf.Tensor4D);
      const c = tf.relu(tf.add(this.cheap.forward(tf.slice(x0, [0, 0, 0, this.rawPlanes], [-1, -1, -1, this.cheapPlanes])), m));
      return this.end.forward(tf.concat([e, c], 3) as tf.Tensor4D);
    });
  }
}

/** [blocks per stage], [widths], group width of each official model. */
const SPECS: Record<string, [number[], number[], number]> = {
  g_ghost_regnetx_002: [[1, 1, 4, 7], [24, 56, 152, 368], 8],
  g_ghost_regnetx_004: [[1, 2, 7, 12], [32, 64, 160, 384], 16],
  g_ghost_regnetx_006: [[1, 3, 5, 7], [48, 96, 240, 528], 24],
  g_ghost_regnetx_008: [[1, 3, 7, 5], [64, 128, 288, 672], 16],
  g_ghost_regnetx_016: [[2, 4, 10, 2], [72, 168, 408, 912], 24],
  g_ghost_regnetx_032: [[2, 6, 15, 2], [96, 192, 432, 1008], 48],
  g_ghost_regnetx_040: [[2, 5, 14, 2], [80, 240, 560, 1360], 40],
  g_ghost_regnetx_064: [[2, 4, 10, 1], [168, 392, 784, 1624], 56],
  g_ghost_regnetx_080: [[2, 5, 15, 1], [80, 240, 720, 1920], 120],
  g_ghost_regnetx_120: [[2, 5, 11, 1], [224, 448, 896, 2240], 112],
  g_ghost_regnetx_160: [[2, 6, 13, 1], [256, 512, 896, 2048], 128],
  g_ghost_regnetx_320: [[2, 7, 13, 1], [336, 672, 1344, 2520], 168],
};

export interface GGhostRegNetOptions extends BackboneOptions {
  blocks: number[];
  widths: number[];
  groupWidth: number;
  cheapRatio?: number;
  numClasses?: number;
}

export class GGhostRegNet extends Backbone {
  readonly classifierPrefixes = ['fc'];
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly fc?: Linear;

  constructor(o: GGhostRegNetOptions) {
    super();
    this.conv1 = this.add('conv1', new Conv2d({ inChannels: 3, outChannels: 32, kernelSize: 3, stride: 2, padding: 1 }));
    this.bn1 = this.add('bn1', new BatchNorm2d(32));
    let inplanes = 32, stride = 2;
    o.widths.forEach((planes, i) => {
      const n = o.blocks[i];
      stride *= 2;
      // The official code: layer1 is always plain, layer3 always G-Ghost, layers 2 and 4 G-Ghost when they have > 2 blocks.
      const ghost = i === 2 || (i !== 0 && n > 2);
      const stage = ghost
        ? new GGhostStage({ inplanes, planes, groupWidth: o.groupWidth, blocks: n, stride: 2, cheapRatio: o.cheapRatio })
        : new Sequential(Array.from({ length: n }, (_, j) => new RegNetBottleneck(j === 0 ? inplanes : planes, planes, j === 0 ? 2 : 1, o.groupWidth, j === 0)));
      this.stageList.push({ name: `layer${i + 1}`, module: this.add(`layer${i + 1}`, stage), stride, channels: planes });
      inplanes = planes;
    });
    if (o.withClassifier ?? true) this.fc = this.add('fc', new Linear(inplanes, o.numClasses ?? 1000));
    this.finish(o);
  }

  protected stemModules(): Module[] {
    return [this.conv1, this.bn1];
  }

  protected stem(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.bn1.forwardRelu(this.conv1.forward(x)));
  }

  protected classify(x: tf.Tensor4D): tf.Tensor2D {
    return this.poolLinear(this.fc, x);
  }
}

export type GGhostNamedOptions = BackboneOptions & { cheapRatio?: number; numClasses?: number };

export const gghostModels: Record<string, (o?: GGhostNamedOptions) => GGhostRegNet> = Object.fromEntries(
  Object.entries(SPECS).map(([name, [blocks, widths, groupWidth]]) => [name, (o: GGhostNamedOptions = {}) => new GGhostRegNet({ ...o, blocks, widths, groupWidth })]),
);
