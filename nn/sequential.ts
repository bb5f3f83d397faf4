import { tf } from '../engine/tf';
import { Layer } from './module';

/** `torch.nn.Sequential`: children named `0`, `1`, … so parameter names match. */
export class Sequential extends Layer {
  readonly layers: Layer[];

  constructor(layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.add(String(i), l));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.layers.reduce((h, l) => l.forward(h), x));
  }
}

/** `torch.nn.Identity`. */
export class Identity extends Layer {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return x;
  }
}
