/**
 * `npm run bench:data`: images/s through decode (jpeg-js) + transform + batch
 * on coco128 at the (1333, 800) scale and at 512×512, set against the time of
 * a training step, to state the loader's margin. Writes bench/results/data.json.
 */
import * as path from 'path';
import { loadCoco } from '../data/coco';
import { DataLoader } from '../data/loader';
import { readImage } from '../data/image';
import { TransformOptions } from '../data/transforms';
import { writeResults } from './report';

const COCO128 = path.resolve(__dirname, '..', '..', '..', 'shared', 'datasets', 'coco128');

function run(t: TransformOptions, batch: number): { imagesPerSec: number; msPerBatch: number } {
  const ds = loadCoco(path.join(COCO128, 'annotations/instances_val2017.json'), { imagesDir: path.join(COCO128, 'val2017'), checkFiles: 'none', log: () => undefined });
  const loader = new DataLoader(ds, { batchSize: batch, train: true, seed: 0, transform: t });
  const t0 = process.hrtime.bigint();
  let n = 0, batches = 0;
  for (const b of loader.batches(0)) { n += b.shape[0]; batches++; }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { imagesPerSec: +(n / s).toFixed(2), msPerBatch: +((s * 1000) / batches).toFixed(1) };
}

function main(): void {
  const ds = loadCoco(path.join(COCO128, 'annotations/instances_val2017.json'), { imagesDir: path.join(COCO128, 'val2017'), checkFiles: 'none', log: () => undefined });
  const t0 = process.hrtime.bigint();
  for (const im of ds.images) readImage(im.file);
  const decodeMs = Number(process.hrtime.bigint() - t0) / 1e6 / ds.images.length;
  const keep = run({ resize: { mode: 'keepRatio', scale: [1333, 800] }, sizeDivisor: 128 }, 2);
  const square = run({ resize: { mode: 'square', size: 512 }, sizeDivisor: 128 }, 2);
  const results = {
    decoder: 'jpeg-js 0.4.4 (pure JS)', jpegDecodeMsPerImage: +decodeMs.toFixed(1),
    loader_1333x800_batch2: keep, loader_512_batch2: square,
    workerThreads: 'not implemented: decode runs on the main thread between steps',
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${writeResults('data', 'npm run bench:data', results)}`);
}

main();
