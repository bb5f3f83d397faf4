/**
 * `npm run bench:coco-load`: load time and peak memory of `loadCoco` on a
 * synthetic instances file the size of COCO train2017 (118,287 images,
 * 860,001 annotations with 24-point polygons, near the real file's 448 MB),
 * generated into bench/tmp/, validated with every annotation check (area,
 * iscrowd, duplicates). Writes bench/results/coco_load.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../util/rng';
import { loadCoco } from '../data/coco';
import { writeResults } from './report';

function generate(file: string): void {
  const rng = new Rng(7);
  const out = fs.openSync(file, 'w');
  const w = (s: string): void => { fs.writeSync(out, s); };
  const nImages = 118287, nAnns = 860001;
  w('{"info":{"description":"synthetic train2017-sized"},"images":[');
  for (let i = 0; i < nImages; i++) {
    w(`${i ? ',' : ''}{"license":1,"file_name":"${String(i + 1).padStart(12, '0')}.jpg","coco_url":"http://images.cocodataset.org/train2017/${String(i + 1).padStart(12, '0')}.jpg","height":480,"width":640,"date_captured":"2013-11-14 16:28:13","flickr_url":"http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg","id":${i + 1}}`);
  }
  w('],"annotations":[');
  let chunk = '';
  for (let a = 0; a < nAnns; a++) {
    const x = rng.uniform(0, 500), y = rng.uniform(0, 380), bw = rng.uniform(5, 140), bh = rng.uniform(5, 100);
    // 24 polygon points (48 numbers): the file comes out near the real one's 448 MB
    const poly = Array.from({ length: 48 }, (_, k) => (k % 2 ? y + rng.next() * bh : x + rng.next() * bw).toFixed(2)).join(',');
    chunk += `${a ? ',' : ''}{"segmentation":[[${poly}]],"area":${(bw * bh * 0.6).toFixed(4)},"iscrowd":0,"image_id":${1 + rng.int(nImages)},"bbox":[${x.toFixed(2)},${y.toFixed(2)},${bw.toFixed(2)},${bh.toFixed(2)}],"category_id":${1 + rng.int(90)},"id":${a + 1}}`;
    if (chunk.length > 1 << 20) { w(chunk); chunk = ''; }
  }
  w(chunk);
  w('],"categories":[' + Array.from({ length: 90 }, (_, i) => `{"supercategory":"s","id":${i + 1},"name":"c${i + 1}"}`).join(',') + ']}');
  fs.closeSync(out);
}

function main(): void {
  const dir = path.resolve(__dirname, '..', '..', 'bench', 'tmp');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'instances_train2017_synthetic_v2.json');
  if (!fs.existsSync(file)) generate(file);
  const bytes = fs.statSync(file).size;
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const ds = loadCoco(file, { imagesDir: dir, checkFiles: 'none', log: () => undefined });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const results = {
    fileMB: +(bytes / 2 ** 20).toFixed(0), images: ds.images.length, annotations: ds.report.usableAnnotations,
    loadSeconds: +seconds.toFixed(2), peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(0), rssBeforeMB: +(rss0 / 2 ** 20).toFixed(0),
    method: "readFileSync; segmentation values replaced by true/false in the bytes (data/instances_reader.ts); JSON.parse; every validator check; typed-array indexing",
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${writeResults('coco_load', 'npm run bench:coco-load', results)}`);
}

main();
