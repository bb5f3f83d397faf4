/**
 * Folds an eval-mode BatchNorm into the convolution before it, for inference:
 * w' = w · γ/√(σ² + ε) per output channel, b' = β + (b − μ) · γ/√(σ² + ε).
 */
import { tf } from '../engine/tf';
import { BatchNorm2d } from './batchnorm';
import { Conv2d } from './conv2d';
import { Module } from './module';

function foldInto(target: Conv2d, conv: Conv2d, bn: BatchNorm2d): void {
  tf.tidy(() => {
    const scale = tf.div(bn.weight, tf.sqrt(tf.add(bn.runningVar, bn.eps)));
    // Output channels are the last axis, except depthwise [k, k, C, m] where channel c·m + j is [.., c, j].
    const wScale = conv.depthwise ? tf.reshape(scale, [conv.inChannels, conv.outChannels / conv.inChannels]) : scale;
    const b0 = conv.bias ? tf.clone(conv.bias) : tf.zeros([conv.outChannels]);
    target.weight.assign(tf.mul(conv.weight, wScale));
    target.ensureBias().assign(tf.add(bn.bias, tf.mul(tf.sub(b0, bn.runningMean), scale)));
  });
}

/**
 * Folds every BatchNorm2d into the Conv2d registered just before it in the
 * same parent (all our blocks register conv then its BN), in place, for
 * inference: the BN then passes its input through. Returns how many were folded.
 */
export function foldBatchNorms(root: Module): number {
  let n = 0;
  const visit = (m: Module): void => {
    const kids = m.namedChildren().map(([, c]) => c);
    kids.forEach((c, i) => {
      const prev = kids[i - 1];
      if (c instanceof BatchNorm2d && !c.folded && prev instanceof Conv2d && prev.outChannels === c.numFeatures) {
        foldInto(prev, prev, c);
        c.folded = true;
        c.eval();
        n++;
      }
      visit(c);
    });
  };
  root.eval();
  visit(root);
  return n;
}

/** Returns a new `Conv2d` with bias equal to `bn(conv(x))` in eval mode. The inputs are left untouched. */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (bn.numFeatures !== conv.outChannels) throw new Error(`foldBatchNorm: BN has ${bn.numFeatures} channels, conv outputs ${conv.outChannels}`);
  const fused = new Conv2d({
    inChannels: conv.inChannels, outChannels: conv.outChannels, kernelSize: conv.kernelSize,
    stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups, bias: true,
  });
  foldInto(fused, conv, bn);
  fused.eval();
  return fused;
}
