/**
 * Squeeze-and-Excitation as GhostNet (and timm's `SqueezeExcite`) builds it:
 * GAP → 1×1 conv (`conv_reduce`, bias) → ReLU → 1×1 conv (`conv_expand`, bias)
 * → hard-sigmoid gate, multiplied into the input.
 */
import { tf } from '../engine/tf';
import { activate, ActName } from './activations';
import { Conv2d } from './conv2d';
import { Layer } from './module';
import { globalAvgPool } from './pool';

/** `_make_divisible` from the TF/PyTorch MobileNet code: round to a multiple of `divisor`, never below 90% of `v`. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let out = Math.max(min, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor));
  if (out < 0.9 * v) out += divisor;
  return out;
}

export interface SqueezeExciteOptions {
  channels: number;
  /** reduced = makeDivisible(channels · seRatio, divisor). */
  seRatio?: number;
  divisor?: number;
  gate?: ActName;
}

export class SqueezeExcite extends Layer {
  readonly convReduce: Conv2d;
  readonly convExpand: Conv2d;
  readonly gate: ActName;

  constructor(o: SqueezeExciteOptions) {
    super();
    const reduced = makeDivisible(o.channels * (o.seRatio ?? 0.25), o.divisor ?? 4);
    this.gate = o.gate ?? 'hardSigmoid';
    this.convReduce = this.add('conv_reduce', new Conv2d({ inChannels: o.channels, outChannels: reduced, kernelSize: 1, bias: true }));
    this.convExpand = this.add('conv_expand', new Conv2d({ inChannels: reduced, outChannels: o.channels, kernelSize: 1, bias: true }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const s = tf.relu(this.convReduce.forward(globalAvgPool(x)));
      return tf.mul(x, activate(this.gate, this.convExpand.forward(s)));
    });
  }
}
