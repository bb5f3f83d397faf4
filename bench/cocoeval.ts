/**
 * `npm run bench:cocoeval`: a val2017-shaped case (5,000 images, 80 COCO
 * category ids, ~7 ground-truth boxes and 100 detections per image) generated
 * deterministically into bench/tmp/, then load + evaluate + accumulate +
 * summarize timed end to end. Writes bench/results/cocoeval.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../util/rng';
import { cocoEvaluateFiles } from '../eval/coco_result';
import { writeResults } from './report';

const COCO_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34,
  35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70,
  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90];

function generate(dir: string, nImages: number, seed: number): { gt: string; dt: string; gtBoxes: number; dets: number } {
  const rng = new Rng(seed);
  const images = [], annotations = [], results = [];
  let annId = 1;
  for (let i = 0; i < nImages; i++) {
    const id = 100000 + i * 7, W = 640, H = 480;
    images.push({ id, width: W, height: H, file_name: `${id}.jpg` });
    const nGt = 1 + rng.int(13);
    const gts: number[][] = [];
    for (let g = 0; g < nGt; g++) {
      const s = Math.exp(rng.uniform(Math.log(8), Math.log(400)));
      const w = s * rng.uniform(0.5, 1.5), h = s * rng.uniform(0.5, 1.5);
      const x = rng.uniform(0, W - Math.min(w, W - 1)), y = rng.uniform(0, H - Math.min(h, H - 1));
      const cat = COCO_IDS[rng.int(COCO_IDS.length)];
      const crowd = rng.next() < 0.01 ? 1 : 0;
      annotations.push({ id: annId++, image_id: id, category_id: cat, bbox: [x, y, w, h], area: w * h * rng.uniform(0.6, 0.9), iscrowd: crowd });
      gts.push([x, y, w, h, cat]);
    }
    for (let d = 0; d < 100; d++) {
      let box: number[], cat: number;
      if (d < gts.length * 3 && rng.next() < 0.7) {
        const g = gts[d % gts.length];
        const j = (v: number, s: number): number => v + rng.normal() * 0.1 * s;
        box = [j(g[0], g[2]), j(g[1], g[3]), Math.abs(j(g[2], g[2])), Math.abs(j(g[3], g[3]))];
        cat = rng.next() < 0.9 ? g[4] : COCO_IDS[rng.int(COCO_IDS.length)];
      } else {
        const w = rng.uniform(5, 300), h = rng.uniform(5, 300);
        box = [rng.uniform(0, W - w), rng.uniform(0, H - h), w, h];
        cat = COCO_IDS[rng.int(COCO_IDS.length)];
      }
      results.push({ image_id: id, category_id: cat, bbox: box.map((v) => Math.round(v * 100) / 100), score: Math.round(rng.next() * 1e4) / 1e4 });
    }
  }
  const categories = COCO_IDS.map((id) => ({ id, name: `class_${id}`, supercategory: 'thing' }));
  fs.mkdirSync(dir, { recursive: true });
  const gt = path.join(dir, 'gt.json'), dt = path.join(dir, 'dt.json');
  fs.writeFileSync(gt, JSON.stringify({ images, annotations, categories }));
  fs.writeFileSync(dt, JSON.stringify(results));
  return { gt, dt, gtBoxes: annotations.length, dets: results.length };
}

function main(): void {
  const dir = path.resolve(__dirname, '..', '..', 'bench', 'tmp', 'cocoeval');
  const nImages = Number(process.env.BENCH_IMAGES ?? 5000);
  const g = generate(dir, nImages, 2026);
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const r = cocoEvaluateFiles(g.gt, g.dt);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(r.lines.join('\n'));
  const file = writeResults('cocoeval', 'npm run bench:cocoeval', {
    case: { images: nImages, categories: COCO_IDS.length, gtBoxes: g.gtBoxes, detections: g.dets, gtBytes: fs.statSync(g.gt).size, dtBytes: fs.statSync(g.dt).size },
    seconds: +seconds.toFixed(3),
    peakRssMB: +peakRssMB.toFixed(0),
    rssBeforeEvalMB: +(before / 2 ** 20).toFixed(0),
    stats: r.stats,
    pycocotools: { seconds: 83, wallSeconds: 87, peakRssGB: 2.5, note: 'same machine kind, val2017-shaped case, measured 2026-11-22 (issue text)' },
    speedupVsPycocotools: +(83 / seconds).toFixed(1),
  });
  console.log(`load + evaluate + accumulate + summarize: ${seconds.toFixed(2)} s, peak RSS ${peakRssMB.toFixed(0)} MB -> ${file}`);
}

main();
