/**
 * `Conv2d` with PyTorch semantics: symmetric zero padding, groups (depthwise
 * included), optional bias, PyTorch's default initialisation.
 */
import { tf } from '../engine/tf';
import { initRng } from '../util/rng';
import { Layer } from './module';
import { recordMacs } from './macs';
import { repeatRows } from '../kernels/repeat';
import { groupedConv2d, groupedConvHere } from '../kernels/grouped_conv';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  /** Symmetric padding in pixels; default `floor(kernelSize / 2)` like most reference code sets explicitly. */
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
  /** Weight init: PyTorch's default (kaiming-uniform a=√5), normal(0, std), or xavier-uniform; bias constant. */
  init?: { normalStd: number; bias?: number } | { xavierUniform: true; bias?: number };
}

/** A 2-D convolution over NHWC input. Weight `[kh, kw, in/groups, out]`, or `[kh, kw, C, m]` when depthwise. */
export class Conv2d extends Layer {
  /** Largest depthwise intermediate (elements) of the one-call grouped conv (32M floats = 128 MB). */
  static groupedViaDepthwiseMax = 32 * 2 ** 20;
  /** Up to this many groups a grouped conv runs as one dense conv with a block-diagonal weight (G× the MACs). */
  static groupedViaDenseMaxGroups = 8;
  readonly weight: tf.Variable;
  bias?: tf.Variable;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  /** groups == inChannels: runs as tfjs depthwise conv with multiplier out/in. */
  readonly depthwise: boolean;

  constructor(o: Conv2dOptions) {
    super();
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? Math.floor(o.kernelSize / 2);
    this.dilation = o.dilation ?? 1;
    this.groups = o.groups ?? 1;
    if (o.inChannels % this.groups || o.outChannels % this.groups) {
      throw new Error(`Conv2d: in ${o.inChannels} and out ${o.outChannels} channels must be divisible by groups ${this.groups}`);
    }
    this.depthwise = this.groups > 1 && this.groups === o.inChannels;
    const k = o.kernelSize;
    const fanIn = (o.inChannels / this.groups) * k * k;
    const shape: [number, number, number, number] = this.depthwise
      ? [k, k, o.inChannels, o.outChannels / o.inChannels]
      : [k, k, o.inChannels / this.groups, o.outChannels];
    const size = shape.reduce((a, b) => a * b);
    // PyTorch default: kaiming_uniform(a=√5) gives U(±1/√fanIn), bias the same bound.
    const bound = 1 / Math.sqrt(fanIn);
    const init = o.init;
    let w: Float32Array;
    if (init && 'normalStd' in init) w = initRng.fill(size, (r) => r.normal() * init.normalStd);
    else if (init) {
      // fan_in = in/groups·k², fan_out = out/groups·k² (PyTorch's xavier_uniform_).
      const xb = Math.sqrt(6 / (fanIn + (o.outChannels / this.groups) * k * k));
      w = initRng.fill(size, (r) => r.uniform(-xb, xb));
    } else w = initRng.fill(size, (r) => r.uniform(-bound, bound));
    this.weight = this.param('weight', tf.tensor4d(w, shape), this.depthwise ? 'depthwise' : 'conv');
    if (o.bias) {
      const b = o.init ? new Float32Array(o.outChannels).fill(o.init.bias ?? 0) : initRng.fill(o.outChannels, (r) => r.uniform(-bound, bound));
      this.bias = this.param('bias', tf.tensor1d(b), 'same');
    }
  }

  /**
   * tfjs has no grouped conv. On wasm with our conv GEMMs it is one op of
   * its own (kernels/grouped_conv.ts). Elsewhere: running the groups as separate convs costs G
   * kernel calls forward and ~10·G backward; instead each input channel is
   * convolved with its group's g_out filters by one depthwise conv (multiplier
   * g_out) and the g_in products of a group are summed: the same FLOPs in one
   * call, and gradients through the depthwise kernels. The products take g_in×
   * the output's memory, so large maps fall back to per-group convs.
   */
  private groupedConv(x: tf.Tensor4D, pad: 'valid' | tf.backend_util.ExplicitPadding): tf.Tensor4D {
    const G = this.groups, gin = this.inChannels / G, gout = this.outChannels / G, k = this.kernelSize;
    if (groupedConvHere(this.inChannels, this.outChannels, G, this.dilation)) {
      return groupedConv2d(x, this.weight as tf.Tensor4D, this.stride, pad, G);
    }
    if (G <= Conv2d.groupedViaDenseMaxGroups) return tf.conv2d(x, this.blockDiagonalWeight(), this.stride, pad, 'NHWC', this.dilation);
    const [n, h, wIn] = x.shape;
    const outH = Math.floor((h + 2 * this.padding - this.dilation * (k - 1) - 1) / this.stride) + 1;
    const outW = Math.floor((wIn + 2 * this.padding - this.dilation * (k - 1) - 1) / this.stride) + 1;
    // The depthwise products are gin× the output: past ~128 MB, run the groups one by one instead.
    if (n * outH * outW * this.inChannels * gout > Conv2d.groupedViaDepthwiseMax) {
      const xs = tf.split(x, G, 3), ws = tf.split(this.weight, G, 3);
      return tf.concat(xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation)), 3) as tf.Tensor4D;
    }
    // [k, k, gin, G·gout] → [k, k, G, gin, gout] → [k, k, Cin, gout]: channel j·gin + i gets W[.., i, j·gout : (j+1)·gout].
    const w = tf.reshape(tf.transpose(tf.reshape(this.weight, [k, k, gin, G, gout]), [0, 1, 3, 2, 4]), [k, k, this.inChannels, gout]) as tf.Tensor4D;
    const z = tf.depthwiseConv2d(x, w, this.stride, pad, 'NHWC', this.dilation);
    return tf.reshape(sumGroupInputs(tf.reshape(z, [n, outH, outW, G, gin, gout])), [n, outH, outW, this.outChannels]) as tf.Tensor4D;
  }

  /**
   * The grouped weight `[k, k, gin, G·gout]` as a dense `[k, k, G·gin, G·gout]`
   * one, zero outside the diagonal blocks: tiled G times along the input axis,
   * times a 0/1 mask, so values (and gradients, summed back over the tiles)
   * are exact. With few groups the G× MACs of one dense conv, a single GEMM
   * forward and backward, cost less than the depthwise route's grouped
   * products and their sum.
   */
  private blockDiagonalWeight(): tf.Tensor4D {
    const G = this.groups, gin = this.inChannels / G, gout = this.outChannels / G, k = this.kernelSize;
    const mask = new Float32Array(k * k * this.inChannels * this.outChannels);
    for (let t = 0; t < k * k; t++) {
      for (let i = 0; i < this.inChannels; i++) {
        const g = Math.floor(i / gin), row = (t * this.inChannels + i) * this.outChannels;
        mask.fill(1, row + g * gout, row + (g + 1) * gout);
      }
    }
    const tiled = tf.tile(this.weight, [1, 1, G, 1]);
    return tf.mul(tiled, tf.tensor4d(mask, tiled.shape as [number, number, number, number])) as tf.Tensor4D;
  }

  /** Adds a zero bias if there is none (BN folding writes into it). */
  ensureBias(): tf.Variable {
    if (!this.bias) this.bias = this.param('bias', tf.zeros([this.outChannels]), 'same');
    return this.bias;
  }

  /** `[N, H, W, in]` → `[N, H', W', out]`. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.padding;
      const pad = p === 0 ? 'valid' : ([[0, 0], [p, p], [p, p], [0, 0]] as tf.backend_util.ExplicitPadding);
      let y: tf.Tensor4D;
      if (this.groups === 1) {
        y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation);
      } else if (this.depthwise) {
        y = tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation);
      } else {
        y = this.groupedConv(x, pad);
      }
      recordMacs(y.shape[1] * y.shape[2] * this.outChannels * (this.inChannels / this.groups) * this.kernelSize ** 2 * y.shape[0]);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

/**
 * Σ over axis 4 of `[n, h, w, G, gin, gout]`. Its gradient is dY repeated
 * over gin, one kernel (kernels/repeat.ts); tfjs's own gradient of
 * `sum` multiplies dY by a ones tensor of the input's size, built element by
 * element in JS.
 */
const sumGroupInputs = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const z = args[0] as tf.Tensor;
  const shape = z.shape;
  return {
    value: tf.sum(z, 4),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const [n, h, w, G, gin, gout] = shape;
      return tf.reshape(repeatRows(tf.reshape(dy as tf.Tensor, [n * h * w * G, gout]), gin), shape);
    },
  };
}) as (z: tf.Tensor) => tf.Tensor;
