/**
 * Child-process probe for the loader's memory bound: streams N records of
 * 640×640 PNGs through a worker loader behind a slow consumer (a stand-in
 * for training steps) and prints {peakRssMB, maxInFlight, batches, images}
 * as JSON. Run in its own process so that peak RSS is this loader's alone
 * (read as VmHWM: see peakRssMB).
 *
 * node dist/bench/loader_memory.js DIR IMAGES WORKERS PREFETCH STEP_MS (the loader test and bench:data run it)
 */
import * as fs from 'fs';
import * as path from 'path';
import { encodePng } from '../data/image';
import { loadCoco } from '../data/coco';
import { DataLoader } from '../data/loader';
import { Rng } from '../util/rng';

const SIDE = 640;
/** Distinct files; the records cycle through them (the bound concerns decoded images, not files). */
const FILES = 16;

function makeDataset(dir: string, n: number): string {
  const rng = new Rng(1);
  fs.mkdirSync(dir, { recursive: true });
  for (let f = 0; f < FILES; f++) {
    const data = new Uint8Array(SIDE * SIDE * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * (f + 3) + rng.int(16)) & 255;
    fs.writeFileSync(path.join(dir, `${f}.png`), encodePng({ width: SIDE, height: SIDE, data }));
  }
  const images = Array.from({ length: n }, (_, i) => ({ id: i + 1, file_name: `${i % FILES}.png`, width: SIDE, height: SIDE }));
  const annotations = images.map((im) => ({ id: im.id, image_id: im.id, category_id: 1, bbox: [10, 10, 100, 80], area: 8000, iscrowd: 0 }));
  const ann = path.join(dir, 'ann.json');
  fs.writeFileSync(ann, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'x' }] }));
  return ann;
}

async function main(): Promise<void> {
  const [dir, n, workers, prefetch, stepMs] = [process.argv[2], ...process.argv.slice(3).map(Number)];
  const ann = makeDataset(dir, n);
  // The same file path in many records is a duplicate for the validator; these records test memory, not validation.
  const ds = loadCoco(ann, { imagesDir: dir, checkFiles: 'none', log: () => undefined });
  ds.images = Array.from({ length: n }, (_, i) => ({ ...ds.images[i % ds.images.length], id: i + 1 }));
  const loader = new DataLoader(ds, { batchSize: 8, train: true, seed: 0, transform: { resize: { mode: 'square', size: SIDE }, sizeDivisor: 32 }, workers, prefetch });
  let batches = 0, images = 0;
  for await (const b of loader.stream(0)) {
    batches++;
    images += b.shape[0];
    await new Promise((r) => setTimeout(r, stepMs));
  }
  await loader.close();
  console.log(JSON.stringify({ peakRssMB: peakRssMB(), maxInFlight: loader.maxInFlight, batches, images }));
}

/**
 * This process's own peak RSS. On Linux, getrusage's maxRSS (what
 * `process.resourceUsage()` reads) keeps the parent's resident size from
 * before exec, so a child of a 1 GB test runner reports 1 GB whatever it
 * did itself; /proc/self/status's VmHWM belongs to this process's own
 * address space.
 */
function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux: getrusage below
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

void main();
