/**
 * `npm run bench:data`: the data pipeline on coco128 (real JPEGs).
 * - `data check` speed: decoding every image on worker threads, images/s,
 *   and the same rate extrapolated to COCO train2017 (118,287 images).
 * - The loader: images/s through decode (jpeg-js) + transform + batch at the
 *   (1333, 800) scale with 0, 1 and 2 worker threads.
 * - The loader's memory: peak RSS streaming 1,000 640×640 images behind a
 *   slow consumer at prefetch 2 and 8 (bench/loader_memory.ts, own process).
 * Writes bench/results/data.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { loadCoco } from '../data/coco';
import { DataLoader } from '../data/loader';
import { readImage } from '../data/image';
import { validateCocoParallel } from '../data/validate';
import { defaultWorkers } from '../data/image_check_pool';
import { readInstancesForBoxes } from '../data/instances_reader';
import { TransformOptions } from '../data/transforms';
import { writeResults } from './report';

const COCO128 = path.resolve(__dirname, '..', '..', '..', 'shared', 'datasets', 'coco128');
const ANN = path.join(COCO128, 'annotations/instances_val2017.json');
const IMAGES = path.join(COCO128, 'val2017');
const TRAIN2017 = 118287;

const dataset = (): ReturnType<typeof loadCoco> => loadCoco(ANN, { imagesDir: IMAGES, checkFiles: 'none', log: () => undefined });

async function loaderRate(t: TransformOptions, batch: number, workers: number): Promise<{ imagesPerSec: number; msPerBatch: number }> {
  const loader = new DataLoader(dataset(), { batchSize: batch, train: true, seed: 0, transform: t, workers, prefetch: 2 * Math.max(1, workers) });
  const t0 = process.hrtime.bigint();
  let n = 0, batches = 0;
  for await (const b of loader.stream(0)) { n += b.shape[0]; batches++; }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await loader.close();
  return { imagesPerSec: +(n / s).toFixed(2), msPerBatch: +((s * 1000) / batches).toFixed(1) };
}

async function checkRate(workers: number): Promise<{ workers: number; imagesPerSec: number; train2017Minutes: number }> {
  const json = readInstancesForBoxes(ANN);
  const t0 = process.hrtime.bigint();
  const v = await validateCocoParallel(json, ANN, { imagesDir: IMAGES, checkFiles: 'decode', workers });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = v.report.images / s;
  return { workers, imagesPerSec: +rate.toFixed(1), train2017Minutes: +(TRAIN2017 / rate / 60).toFixed(1) };
}

function memoryProbe(prefetch: number): { prefetch: number; peakRssMB: number; maxInFlight: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-loader-mem-'));
  try {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'loader_memory.js'), dir, '1000', '2', String(prefetch), '150'], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { peakRssMB: number; maxInFlight: number };
    return { prefetch, peakRssMB: r.peakRssMB, maxInFlight: r.maxInFlight };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const ds = dataset();
  const t0 = process.hrtime.bigint();
  for (const im of ds.images) readImage(im.file);
  const decodeMs = Number(process.hrtime.bigint() - t0) / 1e6 / ds.images.length;
  const keep: TransformOptions = { resize: { mode: 'keepRatio', scale: [1333, 800] }, sizeDivisor: 128 };
  const results = {
    decoder: 'jpeg-js 0.4.4 (pure JS)', jpegDecodeMsPerImage: +decodeMs.toFixed(1),
    dataCheckDecode: [await checkRate(1), await checkRate(defaultWorkers())],
    loader_1333x800_batch2: { workers0: await loaderRate(keep, 2, 0), workers1: await loaderRate(keep, 2, 1), workers2: await loaderRate(keep, 2, 2) },
    loaderMemory_1000x640sq_batch8_2workers: [memoryProbe(2), memoryProbe(8)],
    note: 'data check decodes on one worker thread per core; the loader builds whole batches on its workers (prefetch = 2 × workers here)',
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${writeResults('data', 'npm run bench:data', results)}`);
}

void main();
