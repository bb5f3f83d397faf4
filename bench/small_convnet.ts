/**
 * The small conv net of the backend benchmark and the tensor-leak test: the
 * layer kinds of our backbones (3×3 conv, depthwise 3×3, 1×1, BN, ReLU, SE-free)
 * at detection-like widths, ending in a pooled regression.
 */
import { tf } from '../engine/tf';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv2d';
import { Act } from '../nn/activations';
import { Layer } from '../nn/module';
import { Sequential } from '../nn/sequential';

function convBnRelu(cin: number, cout: number, k: number, stride: number, groups = 1): Layer[] {
  return [new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: k, stride, groups }), new BatchNorm2d(cout), new Act('relu')];
}

export function smallConvNet(): Sequential {
  return new Sequential([
    ...convBnRelu(3, 16, 3, 2),
    ...convBnRelu(16, 16, 3, 1, 16),
    ...convBnRelu(16, 32, 1, 1),
    ...convBnRelu(32, 32, 3, 2, 32),
    ...convBnRelu(32, 64, 1, 1),
    ...convBnRelu(64, 64, 3, 2),
  ]);
}

/** Mean squared error of the pooled features against a fixed target. */
export function smallNetLoss(net: Sequential, x: tf.Tensor4D, target: tf.Tensor): Record<string, tf.Scalar> {
  const f = tf.mean(net.forward(x), [1, 2]);
  return { mse: tf.mean(tf.squaredDifference(f, target)) as tf.Scalar };
}
