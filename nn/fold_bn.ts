/**
 * Folds an eval-mode BatchNorm into the convolution before it, for inference:
 * w' = w · γ/√(σ² + ε) per output channel, b' = β + (b − μ) · γ/√(σ² + ε).
 */
import { tf } from '../runtime/tf';
import { BatchNorm2d } from './batchnorm';
import { Conv2d } from './conv2d';

/** Returns a new `Conv2d` with bias equal to `bn(conv(x))` in eval mode. The inputs are left untouched. */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (bn.numFeatures !== conv.outChannels) throw new Error(`foldBatchNorm: BN has ${bn.numFeatures} channels, conv outputs ${conv.outChannels}`);
  const fused = new Conv2d({
    inChannels: conv.inChannels, outChannels: conv.outChannels, kernelSize: conv.kernelSize,
    stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups, bias: true,
  });
  tf.tidy(() => {
    const scale = tf.div(bn.weight, tf.sqrt(tf.add(bn.runningVar, bn.eps)));
    // Output channels are the last axis, except depthwise [k, k, C, m] where channel c·m + j is [.., c, j].
    const wScale = conv.depthwise ? tf.reshape(scale, [conv.inChannels, conv.outChannels / conv.inChannels]) : scale;
    fused.weight.assign(tf.mul(conv.weight, wScale));
    const b0 = conv.bias ?? tf.zeros([conv.outChannels]);
    fused.bias!.assign(tf.add(bn.bias, tf.mul(tf.sub(b0, bn.runningMean), scale)));
  });
  fused.eval();
  return fused;
}
