/**
 * Activations with PyTorch's exact definitions (they differ from Keras':
 * PyTorch's hard-sigmoid is relu6(x + 3) / 6, Keras' is clip(0.2x + 0.5)).
 */
import { tf } from '../engine/tf';
import { Layer } from './module';
import { siluGrad } from '../kernels/silu';

export type ActName = 'relu' | 'relu6' | 'hardSigmoid' | 'hardSwish' | 'silu' | 'sigmoid' | 'identity';

/** relu6(x + 3) / 6, as `torch.nn.functional.hardsigmoid` and GhostNet's `hard_sigmoid`. */
export function hardSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
}

/** x · relu6(x + 3) / 6, as `torch.nn.Hardswish`. */
export function hardSwish<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, hardSigmoid(x)));
}

/**
 * x · sigmoid(x), as `torch.nn.SiLU`, with its gradient in one kernel
 * (kernels/silu.ts) from the saved x and sigmoid(x).
 */
export function silu<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const s = tf.sigmoid(xi);
    save([xi, s]);
    return { value: tf.mul(xi, s), gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => siluGrad(dy as tf.Tensor, saved[0], saved[1]) };
  });
  return f(x) as T;
}

export function activate<T extends tf.Tensor>(name: ActName, x: T): T {
  switch (name) {
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'hardSigmoid': return hardSigmoid(x);
    case 'hardSwish': return hardSwish(x);
    case 'silu': return silu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'identity': return x;
  }
}

/** An activation as a parameterless layer, so `Sequential` indices match PyTorch's. */
export class Act extends Layer {
  constructor(readonly kind: ActName) {
    super();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return activate(this.kind, x);
  }
}
