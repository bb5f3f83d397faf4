import type { tf } from '../engine/tf';
import type { FeatureSpec } from '../backbones/backbone';
import type { Module } from '../nn/module';

/** A neck maps backbone features to detection levels and declares them, like a backbone. */
export interface Neck extends Module {
  readonly outputs: FeatureSpec[];
  forward(features: tf.Tensor4D[]): tf.Tensor4D[];
}
