import { tf } from '../engine/tf';
import { Layer } from './module';

/**
 * `torch.nn.MaxPool2d(kernel, stride, padding, ceil_mode)`. Padding and the
 * ceil-mode tail are padded with −∞ explicitly, then a `valid` pool runs:
 * tfjs' own 'ceil' rounding disagrees with PyTorch's rule that the last
 * window must start inside the (left-padded) input.
 */
export class MaxPool2d extends Layer {
  constructor(readonly kernelSize: number, readonly stride = kernelSize, readonly padding = 0, readonly ceilMode = false) {
    super();
  }

  /** PyTorch's output size along one axis. */
  outSize(n: number): number {
    const k = this.kernelSize, s = this.stride, p = this.padding;
    const span = n + 2 * p - k;
    let out = (this.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (this.ceilMode && (out - 1) * s >= n + p) out--;
    return out;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w] = x.shape;
      const p = this.padding, k = this.kernelSize, s = this.stride;
      const extraH = (this.outSize(h) - 1) * s + k - (h + 2 * p);
      const extraW = (this.outSize(w) - 1) * s + k - (w + 2 * p);
      const padded = p > 0 || extraH > 0 || extraW > 0
        ? tf.pad(x, [[0, 0], [p, p + Math.max(0, extraH)], [p, p + Math.max(0, extraW)], [0, 0]], -Infinity)
        : x;
      return tf.maxPool(padded, k, s, 'valid');
    });
  }
}

/** Global average pool keeping dims: `[N, H, W, C]` → `[N, 1, 1, C]`. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mean(x, [1, 2], true);
}
