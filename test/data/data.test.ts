import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { synthesize } from '../../data/synthetic';
import { loadCoco } from '../../data/coco';
import { validateCoco, formatReport } from '../../data/validate';
import { decodeImage, encodePng, imageSize, readImage } from '../../data/image';
import { boxToOriginal, targetSize, transformImage } from '../../data/transforms';
import { DataLoader } from '../../data/loader';
import { coco128 } from '../helpers';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-data-'));
const md5 = (f: string): string => crypto.createHash('md5').update(fs.readFileSync(f)).digest('hex');

describe('synthetic shapes dataset', function () {
  this.timeout(120000);

  it('same seed, same bytes; different seed, different images', function () {
    const a = tmp(), b = tmp(), c = tmp();
    synthesize({ out: a, images: 3, val: 1, size: 96, seed: 5 });
    synthesize({ out: b, images: 3, val: 1, size: 96, seed: 5 });
    synthesize({ out: c, images: 3, val: 1, size: 96, seed: 6 });
    for (const f of ['train/000001.png', 'train/000003.png', 'val/1000001.png', 'annotations/instances_train.json']) assert.equal(md5(path.join(a, f)), md5(path.join(b, f)), f);
    assert.notEqual(md5(path.join(a, 'train/000001.png')), md5(path.join(c, 'train/000001.png')));
  });

  it('has 3 classes, small (< 32²) to large boxes, overlaps and empty images, all inside the image', function () {
    const d = tmp();
    synthesize({ out: d, images: 60, val: 0, size: 128, seed: 1 });
    const j = JSON.parse(fs.readFileSync(path.join(d, 'annotations/instances_train.json'), 'utf8'));
    assert.deepEqual(j.categories.map((c: { name: string }) => c.name), ['circle', 'square', 'triangle']);
    const areas = j.annotations.map((a: { bbox: number[] }) => a.bbox[2] * a.bbox[3]);
    assert.ok(Math.min(...areas) < 32 * 32 && Math.max(...areas) > 96 * 96 * 0.5);
    const withAnn = new Set(j.annotations.map((a: { image_id: number }) => a.image_id));
    assert.ok(j.images.some((im: { id: number }) => !withAnn.has(im.id)), 'some images are empty');
    for (const a of j.annotations) assert.ok(a.bbox[0] >= 0 && a.bbox[1] >= 0 && a.bbox[0] + a.bbox[2] <= 128.01 && a.bbox[1] + a.bbox[3] <= 128.01);
    const v = validateCoco(j, 'x', { imagesDir: path.join(d, 'train'), checkFiles: 'decode' });
    assert.deepEqual(v.report.problems, []);
  });
});

describe('COCO reader on coco128 (real images)', function () {
  this.timeout(120000);

  it('indexes images, maps 80 category ids to contiguous labels and keeps the 10 crowd regions as ignore boxes', function () {
    const ds = loadCoco(path.join(coco128(this), 'annotations/instances_val2017.json'), { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'header' });
    assert.equal(ds.images.length, 128);
    assert.equal(ds.labels.catIds.length, 80);
    assert.equal(ds.labels.catIds[0], 1);
    assert.equal(ds.labels.catIds[79], 90);
    assert.equal(ds.images.reduce((n, im) => n + im.ignore.length / 4, 0), 10);
    assert.ok(ds.images.every((im) => Array.from(im.labels).every((l) => l >= 0 && l < 80)));
    assert.ok(ds.images.some((im) => im.labels.length === 0), 'background images kept');
    const filtered = loadCoco(path.join(coco128(this), 'annotations/instances_val2017.json'), { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'none', filterEmpty: true });
    assert.ok(filtered.images.length < 128 && filtered.images.every((im) => im.labels.length > 0));
  });

  it('decodes JPEGs to RGB at their declared size; transforms map boxes back to original pixels exactly', function () {
    const ds = loadCoco(path.join(coco128(this), 'annotations/instances_val2017.json'), { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'none' });
    const im = ds.images.find((i) => i.labels.length > 2)!;
    const img = readImage(im.file);
    assert.deepEqual([img.width, img.height, img.data.length], [im.width, im.height, im.width * im.height * 3]);
    for (const flip of [false, true]) {
      const t = transformImage(img, im, { resize: { mode: 'keepRatio', scale: [1333, 800] }, sizeDivisor: 128 }, flip);
      assert.equal(t.padHeight % 128, 0);
      assert.equal(t.padWidth % 128, 0);
      assert.ok(Math.max(t.meta.width, t.meta.height) <= 1333 && Math.min(t.meta.width, t.meta.height) <= 800);
      for (let b = 0; b < im.labels.length; b++) {
        const back = boxToOriginal(Array.from(t.boxes.subarray(4 * b, 4 * b + 4)) as [number, number, number, number], t.meta);
        back.forEach((v, k) => assert.ok(Math.abs(v - im.boxes[4 * b + k]) < 1e-3, `${v} vs ${im.boxes[4 * b + k]}`));
      }
    }
    assert.deepEqual(targetSize(640, 480, { mode: 'keepRatio', scale: [1333, 800] }), { width: 1067, height: 800 });
    assert.deepEqual(targetSize(640, 480, { mode: 'square', size: 512 }), { width: 512, height: 384 });
  });

  it('the loader is deterministic per seed and epoch, pads batches and carries targets', function () {
    const ds = loadCoco(path.join(coco128(this), 'annotations/instances_val2017.json'), { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'none' });
    ds.images = ds.images.slice(0, 8);
    const mk = (seed: number): DataLoader => new DataLoader(ds, { batchSize: 4, train: true, seed, transform: { resize: { mode: 'square', size: 256 }, sizeDivisor: 32 } });
    assert.deepEqual(mk(1).plan(0), mk(1).plan(0));
    assert.notDeepEqual(mk(1).plan(0), mk(1).plan(1));
    const b = mk(1).batches(0).next().value!;
    assert.deepEqual(b.shape, [4, 256, 256, 3]);
    assert.equal(b.targets.length, 4);
  });
});

describe('bad input', () => {
  function write(dir: string, name: string, data: Buffer): void {
    fs.writeFileSync(path.join(dir, name), data);
  }

  it('every problem kind is reported by name with the record, and only bad records are dropped', function () {
    const dir = tmp();
    const png = encodePng({ width: 20, height: 10, data: new Uint8Array(600).fill(128) });
    write(dir, 'a.png', png);
    write(dir, 'b.png', png);
    write(dir, 'c.png', png);
    write(dir, 'trunc.png', png.subarray(0, 40));
    const jpeg = fs.readFileSync(path.join(coco128(this), 'val2017', fs.readdirSync(path.join(coco128(this), 'val2017'))[0]));
    write(dir, 'trunc.jpg', jpeg.subarray(0, 30));
    const j = {
      images: [
        { id: 1, file_name: 'a.png', width: 20, height: 10 }, { id: 1, file_name: 'b.png', width: 20, height: 10 },
        { id: 2, file_name: 'missing.png', width: 20, height: 10 }, { id: 3, file_name: 'b.png', width: 30, height: 10 },
        { id: 4, file_name: 'trunc.png', width: 20, height: 10 }, { id: 5, file_name: 'trunc.jpg', width: 640, height: 480 },
        { id: 6, file_name: 'c.png', width: 20, height: 10 },
      ],
      categories: [{ id: 1, name: 'x' }, { id: 1, name: 'dup' }],
      annotations: [
        { id: 10, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5], area: 25 },
        { id: 11, image_id: 99, category_id: 1, bbox: [1, 1, 5, 5] },
        { id: 12, image_id: 1, category_id: 7, bbox: [1, 1, 5, 5] },
        { id: 13, image_id: 1, category_id: 1, bbox: [1, 1, 5] },
        { id: 14, image_id: 1, category_id: 1, bbox: [1, 1, 0, 5] },
        { id: 15, image_id: 1, category_id: 1, bbox: [15, 5, 10, 10], area: 100 },
        { id: 15, image_id: 6, category_id: 1, bbox: [0, 0, 3, 3], area: 9 },
      ],
    };
    const v = validateCoco(j, 'bad.json', { imagesDir: dir, checkFiles: 'decode' });
    const kinds = Object.fromEntries(v.report.problems.map((p) => [p.kind, p.count]));
    assert.deepEqual(kinds, {
      duplicate_category_id: 1, duplicate_image_id: 1, image_missing: 1, image_size_mismatch: 1, image_undecodable: 2,
      duplicate_annotation_id: 1, unknown_image: 1, unknown_category: 1, bad_bbox: 1, degenerate_bbox: 1, bbox_outside_image: 1,
    });
    assert.equal(v.report.fatal, false);
    assert.deepEqual(v.images.map((i) => i.id).sort(), [1, 6]);
    // Kept: ann 10, ann 15 clipped to [15, 5, 5, 5], and the second id-15 annotation.
    assert.deepEqual(v.annotations.map((a) => a.bbox), [[1, 1, 5, 5], [15, 5, 5, 5], [0, 0, 3, 3]]);
    const text = formatReport(v.report);
    assert.match(text, /unknown_category: 1 \(annotation skipped\)\n\s+- annotations\[2\] \(id 12\): category_id 7/);
    assert.match(text, /image_undecodable: 2/);
    assert.match(text, /trunc.png/);
  });

  it('missing sections are fatal', function () {
    const v = validateCoco({ images: [] }, 'x.json', { imagesDir: '.', checkFiles: 'none' });
    assert.equal(v.report.fatal, true);
    assert.match(formatReport(v.report), /missing_section: 2[\s\S]*"annotations" is missing/);
  });

  it('a corrupt file gives an error naming it; grayscale and alpha PNGs decode to RGB', function () {
    assert.throws(() => decodeImage(Buffer.from('not an image'), 'x.bin'), /x.bin: not a PNG or JPEG file/);
    const gray = new PNG({ width: 2, height: 1, colorType: 0 });
    gray.data = Buffer.from([10, 10, 10, 255, 200, 200, 200, 255]);
    const g = decodeImage(PNG.sync.write(gray, { colorType: 0 }), 'g.png');
    assert.deepEqual(Array.from(g.data), [10, 10, 10, 200, 200, 200]);
    const rgba = new PNG({ width: 1, height: 1 });
    rgba.data = Buffer.from([1, 2, 3, 4]);
    assert.deepEqual(Array.from(decodeImage(PNG.sync.write(rgba), 'a.png').data), [1, 2, 3]);
    assert.deepEqual(imageSize(fs.readFileSync(path.join(coco128(this), 'val2017/000000000009.jpg'))), { width: 640, height: 480 });
  });

  it('the loader skips an image that fails to decode at training time and reports it', function () {
    const dir = tmp();
    const png = encodePng({ width: 16, height: 16, data: new Uint8Array(768).fill(50) });
    fs.writeFileSync(path.join(dir, 'ok.png'), png);
    fs.writeFileSync(path.join(dir, 'bad.png'), png.subarray(0, 60));
    const ann = path.join(dir, 'ann.json');
    fs.writeFileSync(ann, JSON.stringify({
      images: [{ id: 1, file_name: 'ok.png', width: 16, height: 16 }, { id: 2, file_name: 'bad.png', width: 16, height: 16 }],
      categories: [{ id: 1, name: 'x' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4] }, { id: 2, image_id: 2, category_id: 1, bbox: [1, 1, 4, 4] }],
    }));
    // Header checks pass (the header is intact); decoding fails later.
    const ds = loadCoco(ann, { imagesDir: dir, checkFiles: 'header', log: () => undefined });
    assert.equal(ds.images.length, 2);
    const warned: string[] = [];
    // 1 bad image of 2 is 50%: allowed here, to see it skipped rather than stopping.
    const loader = new DataLoader(ds, { batchSize: 2, train: false, transform: { resize: { mode: 'square', size: 16 } }, maxBadFraction: 0.5, warn: (m) => warned.push(m) });
    const batches = [...loader.batches(0)];
    assert.deepEqual([...loader.badImages.keys()], [2]);
    assert.match(warned[0], /image id 2: .*bad\.png/);
    assert.equal(batches[0].shape[0], 1);
    assert.equal(batches[0].metas[0].id, 1);
  });
});
