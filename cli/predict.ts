/** `ghostdet predict`: detections drawn on images (label index and score), optionally beside the ground truth. */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { modelFor, transformOf } from '../train/run';
import { encodePng, readImage, RgbImage } from '../data/image';
import { transformImage } from '../data/transforms';
import { loadCoco } from '../data/coco';
import { colorOf, drawBox, drawText, sideBySide } from '../eval/visualize';
import { setupBackend } from './setup_backend';

export interface PredictArgs { backend?: string; config: string; set?: string[]; checkpoint: string; images: string[]; out: string; score: number; gt?: string }

export async function runPredict(a: PredictArgs): Promise<void> {
  await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const ck = readCheckpoint(a.checkpoint);
  const labels = ck.state.labels;
  if (!labels) throw new Error(`${a.checkpoint} has no label map`);
  const model = modelFor(config, labels.catIds.length);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  model.eval();
  const gt = a.gt ? loadCoco(a.gt, { imagesDir: path.dirname(a.images[0] ?? '.'), checkFiles: 'none', log: () => undefined }) : undefined;
  fs.mkdirSync(a.out, { recursive: true });
  for (const file of a.images) {
    const img = readImage(file);
    const t = transformImage(img, { id: 0, boxes: new Float32Array(0), ignore: new Float32Array(0) }, transformOf(config), false);
    const dets = tf.tidy(() => model.predict(model.forward(tf.tensor4d(t.data, [1, t.padHeight, t.padWidth, 3])), [t.meta])[0] as unknown as tf.TensorContainer) as unknown as Array<{ box: [number, number, number, number]; score: number; label: number }>;
    const canvas: RgbImage = { ...img, data: img.data.slice() };
    const kept = dets.filter((d) => d.score >= a.score);
    for (const d of kept) {
      drawBox(canvas, d.box, colorOf(d.label));
      drawText(canvas, `${d.label} ${d.score.toFixed(2)}`, d.box[0] + 3, d.box[1] + 3, colorOf(d.label));
    }
    let out = canvas;
    const gtIm = gt?.images.find((im) => path.basename(im.file) === path.basename(file));
    if (gt && gtIm) {
      const g: RgbImage = { ...img, data: img.data.slice() };
      for (let i = 0; i < gtIm.labels.length; i++) drawBox(g, Array.from(gtIm.boxes.subarray(4 * i, 4 * i + 4)) as [number, number, number, number], colorOf(gtIm.labels[i]));
      out = sideBySide(g, canvas);
    }
    const dest = path.join(a.out, path.basename(file).replace(/\.[^.]+$/, '') + '.png');
    fs.writeFileSync(dest, encodePng(out));
    console.log(`${dest}: ${kept.length} detections ≥ ${a.score} (${kept.map((d) => `${labels.names[d.label]} ${d.score.toFixed(2)}`).join(', ')})`);
  }
}
