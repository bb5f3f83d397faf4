/**
 * mmcv's `ConvModule` as YOLOX uses it: conv (no bias: the norm follows) →
 * norm → activation, parameters named `conv.*` and `bn.*` (or `gn.*` for
 * `norm_cfg=dict(type='GN')`) so mmdetection state_dicts load by name.
 * YOLOX's norm: BN momentum 0.03, eps 0.001; SiLU.
 */
import { tf } from '../engine/tf';
import { Layer } from './module';
import { Conv2d } from './conv2d';
import { BatchNorm2d } from './batchnorm';
import { GroupNorm } from './groupnorm';
import { activate, ActName } from './activations';

export interface ConvModuleOptions {
  stride?: number;
  act?: ActName;
  bnEps?: number;
  bnMomentum?: number;
  /** GroupNorm with this many groups instead of BatchNorm (0: BatchNorm). */
  gnGroups?: number;
}

export class ConvModule extends Layer {
  readonly conv: Conv2d;
  readonly norm: BatchNorm2d | GroupNorm;
  private readonly act: ActName;

  constructor(inChannels: number, outChannels: number, kernelSize: number, o: ConvModuleOptions = {}) {
    super();
    this.conv = this.add('conv', new Conv2d({ inChannels, outChannels, kernelSize, stride: o.stride ?? 1, bias: false }));
    this.norm = o.gnGroups
      ? this.add('gn', new GroupNorm(o.gnGroups, outChannels))
      : this.add('bn', new BatchNorm2d(outChannels, o.bnEps ?? 1e-3, o.bnMomentum ?? 0.03));
    this.act = o.act ?? 'silu';
  }

  /** `[N, H, W, Cin]` → `[N, H', W', Cout]`. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => activate(this.act, this.norm.forward(this.conv.forward(x))));
  }
}
