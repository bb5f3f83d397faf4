/**
 * Feature Pyramid Network (Lin et al., arXiv 1612.03144) as mmdetection's
 * `FPN` for RetinaNet: 1×1 lateral convs, top-down nearest upsampling (to the
 * finer level's exact size) and add, 3×3 output convs, and extra levels by
 * stride-2 3×3 convs — P6 from C5 (`on_input`, mmdetection's RetinaNet) or
 * from P5 (`on_output`), with a ReLU before each further extra level (P7), as
 * the RetinaNet paper. Input channels come from the backbone's FeatureSpecs.
 */
import { tf } from '../engine/tf';
import type { FeatureSpec } from '../backbones/backbone';
import { Conv2d } from '../nn/conv2d';
import { Module } from '../nn/module';
import type { Neck } from './neck';

export interface FpnOptions {
  outChannels?: number;
  /** Total output levels (inputs + extra), default 5 (P3–P7 from C3–C5). */
  numOuts?: number;
  extraSource?: 'on_input' | 'on_output';
  reluBeforeExtraConvs?: boolean;
}

export class Fpn extends Module implements Neck {
  readonly outputs: FeatureSpec[];
  private readonly lateral: Conv2d[] = [];
  private readonly fpnConvs: Conv2d[] = [];
  private readonly extraSource: 'on_input' | 'on_output';
  private readonly reluExtra: boolean;

  constructor(inputs: FeatureSpec[], o: FpnOptions = {}) {
    super();
    const out = o.outChannels ?? 256, numOuts = o.numOuts ?? 5;
    for (let i = 1; i < inputs.length; i++) {
      if (inputs[i].stride !== 2 * inputs[i - 1].stride) throw new Error(`FPN: input strides must double level to level, got ${inputs.map((f) => f.stride).join(', ')}`);
    }
    this.extraSource = o.extraSource ?? 'on_input';
    this.reluExtra = o.reluBeforeExtraConvs ?? true;
    const init = { xavierUniform: true as const, bias: 0 };
    const lat = this.add('lateral_convs', new Module());
    const fpn = this.add('fpn_convs', new Module());
    inputs.forEach((f, i) => {
      this.lateral.push(lat.add(String(i), new Module()).add('conv', new Conv2d({ inChannels: f.channels, outChannels: out, kernelSize: 1, bias: true, init })));
      this.fpnConvs.push(fpn.add(String(i), new Module()).add('conv', new Conv2d({ inChannels: out, outChannels: out, kernelSize: 3, bias: true, init })));
    });
    const last = inputs[inputs.length - 1];
    for (let i = inputs.length; i < numOuts; i++) {
      const cin = i === inputs.length && this.extraSource === 'on_input' ? last.channels : out;
      this.fpnConvs.push(fpn.add(String(i), new Module()).add('conv', new Conv2d({ inChannels: cin, outChannels: out, kernelSize: 3, stride: 2, padding: 1, bias: true, init })));
    }
    this.outputs = Array.from({ length: numOuts }, (_, i) => {
      const stride = inputs[0].stride * 2 ** i;
      return { name: `p${Math.log2(stride)}`, stride, channels: out };
    });
  }

  /** C-level maps (NHWC, backbone order) → P-level maps, finest first. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    return tf.tidy(() => {
      const laterals = features.map((f, i) => this.lateral[i].forward(f));
      for (let i = laterals.length - 1; i > 0; i--) {
        const [, h, w] = laterals[i - 1].shape;
        laterals[i - 1] = tf.add(laterals[i - 1], tf.image.resizeNearestNeighbor(laterals[i], [h, w]));
      }
      const outs = laterals.map((l, i) => this.fpnConvs[i].forward(l));
      for (let i = laterals.length; i < this.fpnConvs.length; i++) {
        let src: tf.Tensor4D;
        if (i === laterals.length) src = this.extraSource === 'on_input' ? features[features.length - 1] : outs[outs.length - 1];
        else src = this.reluExtra ? tf.relu(outs[outs.length - 1]) : outs[outs.length - 1];
        outs.push(this.fpnConvs[i].forward(src));
      }
      return outs;
    });
  }
}
