import { strict as assert } from 'assert';
import { clipAndFilter } from '../../data/boxed_image';
import { mosaic } from '../../data/mosaic';
import { applyAffine, warpBoxes, Affine } from '../../data/random_affine';
import { loadCoco } from '../../data/coco';
import { DataLoader } from '../../data/loader';
import type { RgbImage } from '../../data/image';
import type { Rng } from '../../util/rng';
import { tinyShapes } from '../fixtures';

const solid = (w: number, h: number, v: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });
/** An Rng whose uniform draws return the middle of the range (the mosaic centre is then exactly (W, H)). */
const middle = { uniform: (lo: number, hi: number) => (lo + hi) / 2, next: () => 0.5, int: () => 0 } as unknown as Rng;
const px = (img: RgbImage, x: number, y: number): number => img.data[(y * img.width + x) * 3];

describe('augmentation boxes: clipped, or dropped by what is left, never degenerate', () => {
  it('clipAndFilter keeps inside boxes, clips partly outside ones, drops small remainders, slivers and needles', () => {
    const boxes = Float32Array.of(
      10, 10, 30, 30, // inside: kept as is
      90, 10, 110, 30, // half outside a 100-wide image: clipped to 90..100 (50 % left)
      96, 40, 116, 60, // 4 of 20 px left: 80 px² = 20 % of 400, the limit: kept
      97, 70, 117, 90, // 3 of 20 px left (15 %): dropped
      20, 40, 21.5, 80, // 1.5 px wide: dropped
      0, 95, 60, 99, // 60 × 4, aspect 15: kept; the same at 100 × 4 would be 25: dropped
      0, 50, 100, 54,
    );
    const r = clipAndFilter(boxes, 100, 100);
    assert.deepEqual(r.keep, [0, 1, 2, 5]);
    assert.deepEqual([...r.boxes], [10, 10, 30, 30, 90, 10, 100, 30, 96, 40, 100, 60, 0, 95, 60, 99]);
  });

  it('mosaic pastes the four images around the centre, moving each one\'s boxes with it', () => {
    const W = 32, H = 32;
    const items = [10, 20, 30, 40].map((v, i) => ({ img: solid(W, H, v), boxes: Float32Array.of(4, 4, 12, 12), labels: Int32Array.of(i), ignore: new Float32Array(0) }));
    const m = mosaic(items, { size: [W, H] }, middle);
    assert.equal(m.img.width, 2 * W);
    assert.equal(m.img.height, 2 * H);
    // Centre (W, H): quadrants are exactly the four images.
    assert.deepEqual([px(m.img, 8, 8), px(m.img, W + 8, 8), px(m.img, 8, H + 8), px(m.img, W + 8, H + 8)], [10, 20, 30, 40]);
    assert.deepEqual([...m.labels], [0, 1, 2, 3]);
    assert.deepEqual([...m.boxes], [4, 4, 12, 12, W + 4, 4, W + 12, 12, 4, H + 4, 12, H + 12, W + 4, H + 4, W + 12, H + 12]);
  });

  it('mosaic scales a larger image to fit and crops it at the canvas edge', () => {
    const W = 32, H = 32;
    // A 64×32 image is scaled by 0.5 to 32×16; in the top-left quadrant it sits right-aligned against the centre.
    const big = { img: solid(64, 32, 99), boxes: Float32Array.of(0, 0, 16, 8, 48, 24, 64, 32), labels: Int32Array.of(5, 6), ignore: new Float32Array(0) };
    const small = { img: solid(W, H, 1), boxes: new Float32Array(0), labels: new Int32Array(0), ignore: new Float32Array(0) };
    const m = mosaic([big, small, small, small], { size: [W, H] }, middle);
    // Pasted at [0, 16, 32, 32]: boxes scale by 0.5 and move down 16.
    assert.deepEqual([...m.boxes], [0, 16, 8, 20, 24, 28, 32, 32]);
    assert.deepEqual([...m.labels], [5, 6]);
    assert.equal(px(m.img, 4, 4), 114, 'uncovered canvas is grey 114');
    assert.equal(px(m.img, 4, 20), 99);
  });

  it('the affine warp moves boxes with the pixels and clips them at the output border', () => {
    const canvas = { img: solid(64, 64, 50), boxes: Float32Array.of(30, 30, 40, 40, 10, 10, 20, 20, 0, 0, 17, 50), labels: Int32Array.of(1, 2, 3), ignore: new Float32Array(0) };
    // Crop the centre 32×32: x' = x − 16.
    const m: Affine = [1, 0, -16, 0, 1, -16];
    const out = applyAffine(canvas, m, { size: [32, 32] });
    // Box 0 inside; box 1 (10..20) keeps 4 of 10 px (16 % of its area): dropped; box 2 keeps 1 px wide: dropped.
    assert.deepEqual([...out.boxes], [14, 14, 24, 24]);
    assert.deepEqual([...out.labels], [1]);
    assert.equal(out.img.width, 32);
    assert.equal(px(out.img, 5, 5), 50);
    // A 90° rotation about the origin maps a box's corners to its rotated bounding box.
    assert.deepEqual([...warpBoxes(Float32Array.of(1, 2, 3, 6), [0, -1, 0, 1, 0, 0])], [-6, 1, -2, 3]);
  });

  it('a loader with mosaic + affine is deterministic for a seed, and every box it yields is valid', function () {
    this.timeout(60000);
    const d = tinyShapes();
    const ds = loadCoco(d.trainAnn, { imagesDir: d.trainImages, filterEmpty: true, log: () => undefined });
    const make = (): DataLoader => new DataLoader(ds, {
      batchSize: 4, train: true, seed: 7, transform: { resize: { mode: 'square', size: 64 }, sizeDivisor: 32 },
      mosaic: { size: [64, 64], prob: 1 }, randomAffine: { size: [64, 64] },
    });
    const a = [...make().batches(1)], b = [...make().batches(1)];
    assert.equal(a.length, b.length);
    a.forEach((x, i) => {
      assert.deepEqual(x.shape, [4, 64, 64, 3]);
      assert.ok(Buffer.from(x.images.buffer).equals(Buffer.from(b[i].images.buffer)), 'same pixels');
      x.targets.forEach((t, j) => {
        assert.deepEqual([...t.boxes], [...b[i].targets[j].boxes]);
        assert.equal(t.labels.length * 4, t.boxes.length);
        for (let k = 0; k < t.boxes.length; k += 4) {
          assert.ok(t.boxes[k + 2] - t.boxes[k] >= 1 && t.boxes[k + 3] - t.boxes[k + 1] >= 1, 'no degenerate box');
          assert.ok(t.boxes[k] >= 0 && t.boxes[k + 2] <= 64 && t.boxes[k + 1] >= 0 && t.boxes[k + 3] <= 64, 'inside the image');
        }
      });
    });
    // Mosaic brings more objects per image than the source images have on average.
    const per = a.flatMap((x) => x.targets.map((t) => t.labels.length));
    const src = ds.images.reduce((s, im) => s + im.labels.length, 0) / ds.images.length;
    assert.ok(per.reduce((s, v) => s + v, 0) / per.length > src, 'mosaic combines objects of several images');
  });
});
