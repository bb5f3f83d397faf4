/**
 * One image → detections in its original pixels: the transform of training
 * and evaluation (resize, normalise, pad to the size divisor), forward,
 * post-processing. `ghostdet predict` and the browser page both call this,
 * so the page gives the detections the CLI gives.
 */
import { tf } from '../engine/tf';
import type { RgbImage } from '../data/image';
import { transformImage, TransformOptions } from '../data/transforms';
import { Detection, Detector, headTensors } from './detector';

export async function detectImage(model: Detector, img: RgbImage, transform: TransformOptions): Promise<Detection[]> {
  const t = transformImage(img, { id: 0, boxes: new Float32Array(0), ignore: new Float32Array(0) }, transform, false);
  const x = tf.tensor4d(t.data, [1, t.padHeight, t.padWidth, 3]);
  const out = model.forward(x);
  try {
    return (await model.predict(out, [t.meta]))[0];
  } finally {
    tf.dispose([x, ...headTensors(out)]);
  }
}
