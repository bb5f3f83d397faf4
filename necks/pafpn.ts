/**
 * YOLOX's path-aggregation FPN, as mmdetection's `YOLOXPAFPN` (Liu et al.,
 * PANet; Ge et al., YOLOX): a top-down path (1×1 `reduce_layers` on the
 * coarser map, nearest ×2 upsampling, concat with the finer input, CSP
 * `top_down_blocks`), a bottom-up path (3×3 stride-2 `downsamples`, concat,
 * CSP `bottom_up_blocks`), then 1×1 `out_convs` to `outChannels` per level.
 * Levels are the backbone's (no extra levels); strides must double.
 */
import { tf } from '../engine/tf';
import type { FeatureSpec } from '../backbones/backbone';
import { ConvModule } from '../nn/conv_module';
import { Module } from '../nn/module';
import { CspLayer } from './csp_layer';
import type { Neck } from './neck';

export interface PafpnOptions {
  outChannels?: number;
  /** Bottlenecks per CSP block (mmdetection default 3; YOLOX-s uses 1). */
  numCspBlocks?: number;
}

export class Pafpn extends Module implements Neck {
  readonly outputs: FeatureSpec[];
  private readonly reduce: ConvModule[] = [];
  private readonly topDown: CspLayer[] = [];
  private readonly down: ConvModule[] = [];
  private readonly bottomUp: CspLayer[] = [];
  private readonly outConvs: ConvModule[] = [];

  constructor(inputs: FeatureSpec[], o: PafpnOptions = {}) {
    super();
    if (inputs.length < 2) throw new Error(`PAFPN: needs at least 2 input levels, got ${inputs.length}`);
    for (let i = 1; i < inputs.length; i++) {
      if (inputs[i].stride !== 2 * inputs[i - 1].stride) throw new Error(`PAFPN: input strides must double level to level, got ${inputs.map((f) => f.stride).join(', ')}`);
    }
    const ch = inputs.map((f) => f.channels), out = o.outChannels ?? 256, nb = o.numCspBlocks ?? 3;
    const [reduce, topDown, down, bottomUp, outConvs] = ['reduce_layers', 'top_down_blocks', 'downsamples', 'bottom_up_blocks', 'out_convs'].map((n) => this.add(n, new Module()));
    for (let idx = ch.length - 1, k = 0; idx > 0; idx--, k++) {
      this.reduce.push(reduce.add(String(k), new ConvModule(ch[idx], ch[idx - 1], 1)));
      this.topDown.push(topDown.add(String(k), new CspLayer(ch[idx - 1] * 2, ch[idx - 1], nb, false)));
    }
    for (let idx = 0; idx < ch.length - 1; idx++) {
      this.down.push(down.add(String(idx), new ConvModule(ch[idx], ch[idx], 3, { stride: 2 })));
      this.bottomUp.push(bottomUp.add(String(idx), new CspLayer(ch[idx] * 2, ch[idx + 1], nb, false)));
    }
    ch.forEach((c, i) => this.outConvs.push(outConvs.add(String(i), new ConvModule(c, out, 1))));
    this.outputs = inputs.map((f) => ({ name: `p${Math.log2(f.stride)}`, stride: f.stride, channels: out }));
  }

  /** Backbone maps (finest first, NHWC) → one `outChannels` map per level. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    return tf.tidy(() => {
      const n = features.length;
      // Top-down: inner[0] is always the current coarsest processed map.
      const inner: tf.Tensor4D[] = [features[n - 1]];
      for (let idx = n - 1, k = 0; idx > 0; idx--, k++) {
        const high = this.reduce[k].forward(inner[0]);
        inner[0] = high;
        const low = features[idx - 1];
        const up = tf.image.resizeNearestNeighbor(high, [low.shape[1], low.shape[2]]);
        inner.unshift(this.topDown[k].forward(tf.concat([up, low], 3)));
      }
      const outs: tf.Tensor4D[] = [inner[0]];
      for (let idx = 0; idx < n - 1; idx++) {
        const d = this.down[idx].forward(outs[outs.length - 1]);
        outs.push(this.bottomUp[idx].forward(tf.concat([d, inner[idx + 1]], 3)));
      }
      return outs.map((t, i) => this.outConvs[i].forward(t));
    });
  }
}
