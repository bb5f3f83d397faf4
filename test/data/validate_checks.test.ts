import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { validateCoco, validateCocoParallel, formatReport, AREA_RATIO } from '../../data/validate';
import { encodePng } from '../../data/image';
import { coco128 } from '../helpers';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-validate-'));

/** A folder with `n` 20×10 PNGs named 0.png … */
function pngs(n: number): string {
  const dir = tmp();
  const png = encodePng({ width: 20, height: 10, data: new Uint8Array(600).fill(90) });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `${i}.png`), png);
  return dir;
}

const kinds = (v: ReturnType<typeof validateCoco>): Record<string, number> => Object.fromEntries(v.report.problems.map((p) => [p.kind, p.count]));

describe('annotation checks: iscrowd, area, duplicate file and category names, missing sizes', () => {
  it('iscrowd other than 0/1 is named and the annotation skipped; 0, 1 and absent are fine', function () {
    const dir = pngs(1);
    const ann = (id: number, iscrowd: unknown): Record<string, unknown> => ({ id, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4], area: 16, ...(iscrowd === undefined ? {} : { iscrowd }) });
    const v = validateCoco({
      images: [{ id: 1, file_name: '0.png', width: 20, height: 10 }], categories: [{ id: 1, name: 'a' }],
      annotations: [ann(1, 0), ann(2, 1), ann(3, undefined), ann(4, 2), ann(5, 'yes'), ann(6, true)],
    }, 'c.json', { imagesDir: dir, checkFiles: 'none' });
    assert.deepEqual(kinds(v), { bad_iscrowd: 3 });
    assert.deepEqual(v.annotations.map((a) => a.iscrowd), [false, true, false]);
    assert.match(formatReport(v.report), /bad_iscrowd: 3 \(annotation skipped[^\n]*\n\s+- annotations\[3\] \(id 4\): iscrowd 2 is not 0 or 1\n\s+- annotations\[4\] \(id 5\): iscrowd "yes"/);
  });

  it('area missing or ≤ 0 is named; area disagreeing with w·h by more than 2× is named, polygon areas below w·h are not', function () {
    const dir = pngs(1);
    const poly = [[1, 1, 11, 1, 1, 11]];
    const a = (id: number, area: unknown, segmentation?: unknown): Record<string, unknown> => ({ id, image_id: 1, category_id: 1, bbox: [1, 1, 10, 5], area, ...(segmentation ? { segmentation } : {}) });
    // w·h = 50.
    const v = validateCoco({
      images: [{ id: 1, file_name: '0.png', width: 20, height: 10 }], categories: [{ id: 1, name: 'a' }],
      annotations: [
        a(1, 50), a(2, 30, poly), a(3, 5, poly), // fine: a polygon's area is at most its box
        a(4, undefined), a(5, 0), a(6, -3), a(7, 'big'), // bad_area
        a(8, 50 * AREA_RATIO + 1), a(9, 50 / AREA_RATIO - 1), a(10, 101, poly), // area_mismatch
        a(11, 50 * AREA_RATIO), a(12, 50 / AREA_RATIO), // exactly 2×: fine
      ],
    }, 'a.json', { imagesDir: dir, checkFiles: 'none' });
    assert.deepEqual(kinds(v), { bad_area: 4, area_mismatch: 3 });
    // Both are warnings: every annotation still trains.
    assert.equal(v.annotations.length, 12);
    const text = formatReport(v.report);
    assert.match(text, /annotations\[7\] \(id 8\): area 101 vs box 10×5 = 50 \(no segmentation\)/);
    assert.match(text, /annotations\[8\] \(id 9\): area 24 vs box 10×5 = 50 \(no segmentation\)/);
    assert.match(text, /annotations\[9\] \(id 10\): area 101 vs box 10×5 = 50$/m);
    assert.match(text, /area_mismatch: 3 \(kept; evaluation files boxes into small\/medium\/large by area, as pycocotools/);
  });

  it('real COCO annotations (coco128) raise no iscrowd or area problem', function () {
    const j = JSON.parse(fs.readFileSync(path.join(coco128(this), 'annotations/instances_val2017.json'), 'utf8'));
    const v = validateCoco(j, 'coco128', { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'none' });
    assert.deepEqual(v.report.problems, []);
  });

  it('a file named by two image records: the later record and its annotations are skipped, not reported as unknown', function () {
    const dir = pngs(2);
    const v = validateCoco({
      images: [{ id: 1, file_name: '0.png', width: 20, height: 10 }, { id: 2, file_name: '1.png', width: 20, height: 10 }, { id: 3, file_name: './0.png', width: 20, height: 10 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [1, 2, 3].map((i) => ({ id: i, image_id: i, category_id: 1, bbox: [1, 1, 4, 4], area: 16 })),
    }, 'f.json', { imagesDir: dir, checkFiles: 'header' });
    assert.deepEqual(kinds(v), { duplicate_file_name: 1 });
    assert.deepEqual(v.images.map((i) => i.id), [1, 2]);
    assert.deepEqual(v.annotations.map((a) => a.imageId), [1, 2]);
    assert.match(formatReport(v.report), /images\[2\] \(id 3, \.\/0\.png\): the file of image id 1 too/);
  });

  it('missing width/height: read from the file when files are checked, the image skipped when they are not; a wrong type is a bad record', function () {
    const dir = pngs(3);
    const j = {
      images: [{ id: 1, file_name: '0.png' }, { id: 2, file_name: '1.png', width: 20, height: 10 }, { id: 3, file_name: '2.png', width: '20', height: 10 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [15, 1, 10, 4], area: 40 }],
    };
    const checked = validateCoco(j, 's.json', { imagesDir: dir, checkFiles: 'header' });
    assert.deepEqual(kinds(checked), { image_size_missing: 1, bad_record: 1, bbox_outside_image: 1 });
    assert.deepEqual(checked.images.map((i) => [i.id, i.width, i.height]), [[1, 20, 10], [2, 20, 10]]);
    // Clipped to the size read from the file.
    assert.deepEqual(checked.annotations[0].bbox, [15, 1, 5, 4]);
    const unchecked = validateCoco(j, 's.json', { imagesDir: dir, checkFiles: 'none' });
    assert.deepEqual(unchecked.images.map((i) => i.id), [2]);
    assert.deepEqual(unchecked.annotations, []);
    assert.match(formatReport(checked.report), /image_size_missing: 1 \(size read from the file[^\n]*\n\s+- images\[0\] \(id 1, 0\.png\): no width\/height/);
    assert.match(formatReport(checked.report), /images\[2\] \(id 3, 2\.png\): width "20", height 10 must be numbers > 0/);
  });

  it('two categories with one name are named and both kept', function () {
    const dir = pngs(1);
    const v = validateCoco({
      images: [{ id: 1, file_name: '0.png', width: 20, height: 10 }],
      categories: [{ id: 1, name: 'person' }, { id: 2, name: 'car' }, { id: 7, name: 'person' }],
      annotations: [],
    }, 'n.json', { imagesDir: dir, checkFiles: 'none' });
    assert.deepEqual(kinds(v), { duplicate_category_name: 1 });
    assert.deepEqual(v.categories.map((c) => c.id), [1, 2, 7]);
    assert.match(formatReport(v.report), /categories\[2\] \(id 7\): name "person" is also category id 1's/);
  });
});

describe('image checks on worker threads', function () {
  this.timeout(120000);

  it('decoding coco128 with a truncated JPEG and a missing file: worker threads give the report the single-thread check gives', async function () {
    const dir = tmp();
    const names = fs.readdirSync(path.join(coco128(this), 'val2017')).sort();
    for (const n of names) fs.copyFileSync(path.join(coco128(this), 'val2017', n), path.join(dir, n));
    const cut = path.join(dir, names[5]);
    const bytes = fs.readFileSync(cut);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 3)));
    fs.rmSync(path.join(dir, names[9]));
    const j = JSON.parse(fs.readFileSync(path.join(coco128(this), 'annotations/instances_val2017.json'), 'utf8'));
    const progress: number[] = [];
    const par = await validateCocoParallel(j, 'coco128', { imagesDir: dir, checkFiles: 'decode', workers: 2, chunk: 8, onProgress: (d) => progress.push(d) });
    const seq = validateCoco(j, 'coco128', { imagesDir: dir, checkFiles: 'decode' });
    assert.deepEqual(par.report, seq.report);
    assert.deepEqual(par.images, seq.images);
    assert.equal(progress.at(-1), 128);
    assert.deepEqual(kinds(par), { image_undecodable: 1, image_missing: 1 });
    const cutId = j.images.find((im: { file_name: string }) => im.file_name === names[5]).id;
    assert.match(formatReport(par.report), new RegExp(`image_undecodable: 1[^\\n]*\\n\\s+- image id ${cutId} \\(${names[5]}\\): .*cannot decode JPEG`));
    // Header-only reading does not see the truncation (why decoding is the default of `data check`).
    const headers = await validateCocoParallel(j, 'coco128', { imagesDir: dir, checkFiles: 'header', workers: 2 });
    assert.deepEqual(kinds(headers), { image_missing: 1 });
  });
});
