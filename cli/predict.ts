/** `ghostdet predict`: detections drawn on images (class name and score), optionally beside the ground truth; SVG rasterised to PNG. */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { buildDetectorFor } from '../detectors/build';
import { transformOf } from '../data/from_config';
import { encodePng, readImage } from '../data/image';
import { loadCoco } from '../data/coco';
import { detectImage } from '../detectors/detect_image';
import { detectionsBody } from '../eval/detections_svg';
import { svgDoc } from '../eval/svg';
import { svgToPng } from '../eval/svg_png';
import { writeFileAtomic } from '../util/atomic_write';
import { setupBackend } from './setup_backend';

export interface PredictArgs { backend?: string; config: string; set?: string[]; checkpoint: string; images: string[]; out: string; score: number; gt?: string }

export async function runPredict(a: PredictArgs): Promise<void> {
  await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const ck = readCheckpoint(a.checkpoint);
  const labels = ck.state.labels;
  if (!labels) throw new Error(`${a.checkpoint} has no label map`);
  const model = buildDetectorFor(config.model, labels.catIds.length);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  model.eval();
  const gt = a.gt ? loadCoco(a.gt, { imagesDir: path.dirname(a.images[0] ?? '.'), checkFiles: 'none', log: () => undefined }) : undefined;
  fs.mkdirSync(a.out, { recursive: true });
  for (const file of a.images) {
    const img = readImage(file);
    const dets = await detectImage(model, img, transformOf(config.data));
    const kept = dets.filter((d) => d.score >= a.score);
    const href = `data:image/png;base64,${encodePng(img).toString('base64')}`;
    const w = img.width, h = img.height;
    let body = detectionsBody({ width: w, height: h, imageHref: href, detections: kept, names: labels.names });
    let width = w;
    const gtIm = gt?.images.find((im) => path.basename(im.file) === path.basename(file));
    if (gt && gtIm) {
      const truth = Array.from(gtIm.labels, (l, i) => ({ box: Array.from(gtIm.boxes.subarray(4 * i, 4 * i + 4)) as [number, number, number, number], label: l }));
      // Ground truth on the left, detections on the right, 8 px apart.
      body = detectionsBody({ width: w, height: h, imageHref: href, detections: [], truth, names: labels.names }) + `<g transform="translate(${w + 8} 0)">${body}</g>`;
      width = 2 * w + 8;
    }
    const svg = svgDoc(width, h, body, '#fff');
    const dest = path.join(a.out, path.basename(file).replace(/\.[^.]+$/, '') + '.png');
    writeFileAtomic(dest.replace(/\.png$/, '.svg'), svg);
    writeFileAtomic(dest, svgToPng(svg));
    console.log(`${dest}: ${kept.length} detections ≥ ${a.score} (${kept.map((d) => `${labels.names[d.label]} ${d.score.toFixed(2)}`).join(', ')})`);
  }
}
