import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { onBackend, seeded } from '../helpers';

/** dX by definition: each dY value added into the input pixel nearest-neighbour resizing read for it (2× and 3× exact). */
function reference(n: number, h: number, w: number, c: number, f: number, dy: Float32Array): Float32Array {
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let y = 0; y < h * f; y++) for (let x = 0; x < w * f; x++) for (let q = 0; q < c; q++) {
    dx[((b * h + Math.floor(y / f)) * w + Math.floor(x / f)) * c + q] += dy[((b * h * f + y) * w * f + x) * c + q];
  }
  return dx;
}

function grad(shape: [number, number, number, number], size: [number, number], alignCorners: boolean, halfPixel: boolean, dy: Float32Array): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(shape.reduce((a, b) => a * b), 1), shape);
    const r = tf.tensor4d(dy, [shape[0], size[0], size[1], shape[3]]);
    return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(xx as tf.Tensor4D, size, alignCorners, halfPixel), r)))(x).dataSync() as Float32Array;
  });
}

describe('nearest-neighbour resize gradient on cpu', () => {
  for (const f of [2, 3]) {
    it(`batch 3, ${f}× upsampling (an FPN's top-down path): every image's dX sums its own dY`, async () => {
      const [n, h, w, c] = [3, 3, 4, 5];
      const dy = seeded(n * h * f * w * f * c, 2);
      const got = await onBackend('cpu', () => grad([n, h, w, c], [h * f, w * f], false, false, dy));
      const ref = reference(n, h, w, c, f, dy);
      got.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= 1e-5, `dx[${i}] ${v} vs ${ref[i]}`));
    });
  }

  for (const [alignCorners, halfPixel] of [[false, false], [true, false], [false, true]]) {
    it(`odd sizes, alignCorners ${alignCorners}, halfPixelCenters ${halfPixel}: dX sums dY over the pixels the forward read`, async () => {
      const [n, h, w, c, oh, ow] = [2, 4, 3, 3, 7, 5];
      const dy = seeded(n * oh * ow * c, 3);
      // wasm's own kernel too, where the necks use it (its half-pixel gradient disagrees with its forward).
      for (const backend of halfPixel ? ['cpu'] as const : ['cpu', 'wasm'] as const) {
        await onBackend(backend, () => {
          // Which input pixel each output read: resize an image of pixel indices with the same forward.
          const ids = tf.tidy(() => tf.image.resizeNearestNeighbor(tf.tensor4d(Array.from({ length: n * h * w }, (_, i) => i), [n, h, w, 1]), [oh, ow], alignCorners, halfPixel).dataSync());
          const ref = new Float32Array(n * h * w * c);
          ids.forEach((src, o) => { for (let q = 0; q < c; q++) ref[src * c + q] += dy[o * c + q]; });
          const got = grad([n, h, w, c], [oh, ow], alignCorners, halfPixel, dy);
          got.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) <= 1e-5, `${backend} dx[${i}] ${v} vs ${ref[i]}`));
        });
      }
    });
  }
});
