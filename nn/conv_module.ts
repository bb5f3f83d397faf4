/**
 * mmcv's `ConvModule` as YOLOX uses it: conv (no bias: the norm follows) →
 * BatchNorm → activation, parameters named `conv.*` and `bn.*` so mmdetection
 * state_dicts load by name. YOLOX's norm: BN momentum 0.03, eps 0.001; SiLU.
 */
import { tf } from '../runtime/tf';
import { Layer } from './module';
import { Conv2d } from './conv2d';
import { BatchNorm2d } from './batchnorm';
import { activate, ActName } from './activations';

export interface ConvModuleOptions {
  stride?: number;
  act?: ActName;
  bnEps?: number;
  bnMomentum?: number;
}

export class ConvModule extends Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  private readonly act: ActName;

  constructor(inChannels: number, outChannels: number, kernelSize: number, o: ConvModuleOptions = {}) {
    super();
    this.conv = this.add('conv', new Conv2d({ inChannels, outChannels, kernelSize, stride: o.stride ?? 1, bias: false }));
    this.bn = this.add('bn', new BatchNorm2d(outChannels, o.bnEps ?? 1e-3, o.bnMomentum ?? 0.03));
    this.act = o.act ?? 'silu';
  }

  /** `[N, H, W, Cin]` → `[N, H', W', Cout]`. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => activate(this.act, this.bn.forward(this.conv.forward(x))));
  }
}
