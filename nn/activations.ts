/**
 * Activations with PyTorch's exact definitions (they differ from Keras':
 * PyTorch's hard-sigmoid is relu6(x + 3) / 6, Keras' is clip(0.2x + 0.5)).
 */
import { tf } from '../runtime/tf';
import { Layer } from './module';

export type ActName = 'relu' | 'relu6' | 'hardSigmoid' | 'hardSwish' | 'silu' | 'sigmoid' | 'identity';

/** relu6(x + 3) / 6, as `torch.nn.functional.hardsigmoid` and GhostNet's `hard_sigmoid`. */
export function hardSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
}

/** x · relu6(x + 3) / 6, as `torch.nn.Hardswish`. */
export function hardSwish<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, hardSigmoid(x)));
}

/** x · sigmoid(x), as `torch.nn.SiLU`. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
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
