/**
 * The single place ghostdet imports TensorFlow.js from.
 *
 * Every module imports `tf` from here so that exactly one copy of
 * `@tensorflow/tfjs-core` holds the registered backends, kernels and gradients.
 * The `@tensorflow/tfjs` bundle is used (not tfjs-core alone) because only its
 * CommonJS build registers the gradient functions; it also registers the pure-JS
 * `cpu` backend, our last fallback.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor4D = tf.Tensor4D;
