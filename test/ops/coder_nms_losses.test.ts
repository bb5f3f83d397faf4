import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { decodeDeltas, encodeDeltas, MAX_RATIO } from '../../ops/coder';
import { batchedNms, nms } from '../../ops/nms';
import { giouLoss, iouLossSum, l1Loss, sigmoidFocalLoss } from '../../ops/losses';

describe('delta coder', () => {
  it('encodes by hand-derived values and decodes back', () => {
    // Anchor centre (5, 5), 10×10; gt centre (7, 4), 20×5 → dx 0.2, dy −0.1, dw ln 2, dh ln 0.5.
    const a = Float32Array.from([0, 0, 10, 10]), g = Float32Array.from([-3, 1.5, 17, 6.5]);
    const d = encodeDeltas(a, g);
    [0.2, -0.1, Math.log(2), Math.log(0.5)].forEach((v, i) => assert.ok(Math.abs(d[i] - v) < 1e-6));
    const back = decodeDeltas(a, d, 100, 100);
    // Clipped to the image: x1 = −3 → 0.
    [0, 1.5, 17, 6.5].forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-4, `${back[i]} vs ${v}`));
  });

  it('clamps dw/dh at log(1000/16)', () => {
    const b = decodeDeltas(Float32Array.from([1000, 1000, 1001, 1001]), Float32Array.from([0, 0, 100, 0]), 1e9, 1e9);
    assert.ok(Math.abs((b[2] - b[0]) - Math.exp(MAX_RATIO)) < 1e-2);
  });
});

describe('NMS', () => {
  it('keeps the higher score; ties keep input order; empty input gives nothing', () => {
    const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60, 0, 0, 10, 10];
    assert.deepEqual(nms(boxes, [0.9, 0.8, 0.7, 0.9], 0.5), [0, 2]);
    assert.deepEqual(nms([], [], 0.5), []);
    // IoU exactly 0.5 is kept (suppression needs > thr): boxes [0,0,10,10] and [0,0,10,... ] with IoU 0.5 → [0,0,10,5]? IoU = 50/100.
    assert.deepEqual(nms([0, 0, 10, 10, 0, 0, 10, 5], [0.9, 0.8], 0.5), [0, 1]);
  });

  it('class-aware: overlapping boxes of different classes both survive; top-N by score', () => {
    const boxes = [0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10];
    assert.deepEqual(batchedNms(boxes, [0.5, 0.9, 0.7], [0, 1, 0], 0.5, 100), [1, 2]);
    assert.deepEqual(batchedNms(boxes, [0.5, 0.9, 0.7], [0, 1, 2], 0.5, 2), [1, 2]);
  });

  it('equals greedy forward suppression on crowded random boxes; maxKeep and maxPerImage only cut the tail', () => {
    // The textbook form: each kept box suppresses every later box it overlaps by IoU > thr.
    const reference = (b: number[], s: number[], thr: number): number[] => {
      const order = s.map((_, i) => i).sort((x, y) => s[y] - s[x] || x - y);
      const dead = new Set<number>(), keep: number[] = [];
      for (const i of order) {
        if (dead.has(i)) continue;
        keep.push(i);
        for (const j of order) {
          if (j === i || dead.has(j) || keep.includes(j)) continue;
          const w = Math.min(b[4 * i + 2], b[4 * j + 2]) - Math.max(b[4 * i], b[4 * j]);
          const h = Math.min(b[4 * i + 3], b[4 * j + 3]) - Math.max(b[4 * i + 1], b[4 * j + 1]);
          if (w <= 0 || h <= 0) continue;
          const area = (k: number): number => (b[4 * k + 2] - b[4 * k]) * (b[4 * k + 3] - b[4 * k + 1]);
          if ((w * h) / (area(i) + area(j) - w * h) > thr) dead.add(j);
        }
      }
      return keep;
    };
    let seed = 3;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 20; trial++) {
      const n = 150, boxes: number[] = [], scores: number[] = [], labels: number[] = [];
      for (let i = 0; i < n; i++) {
        const x = rand() * 60, y = rand() * 60, w = 5 + rand() * 30, h = 5 + rand() * 30;
        boxes.push(x, y, x + w, y + h);
        scores.push(Math.round(rand() * 50) / 50); // ties on purpose
        labels.push(Math.floor(rand() * 3));
      }
      const full = reference(boxes, scores, 0.5);
      assert.deepEqual(nms(boxes, scores, 0.5), full);
      assert.deepEqual(nms(boxes, scores, 0.5, undefined, 7), full.slice(0, 7));
      const all = batchedNms(boxes, scores, labels, 0.5, Infinity);
      assert.deepEqual(batchedNms(boxes, scores, labels, 0.5, 10), all.slice(0, 10));
    }
  });
});

describe('losses', () => {
  it('focal loss equals the hand-computed value', () => {
    // x = 0 (p = 0.5), t = 1: BCE = ln 2, pt = 0.5, weight α·pt² = 0.25·0.25 → 0.0625·ln2.
    // x = 2, t = 0: p = σ(2), BCE = ln(1 + e²), pt = p, weight 0.75·p².
    const p = 1 / (1 + Math.exp(-2));
    const expected = 0.0625 * Math.log(2) + 0.75 * p * p * Math.log(1 + Math.exp(2));
    const l = sigmoidFocalLoss(tf.tensor2d([[0, 2]]), tf.tensor2d([[1, 0]]), tf.tensor1d([1]), 1).dataSync()[0];
    assert.ok(Math.abs(l - expected) < 1e-6, `${l} vs ${expected}`);
    // An ignored anchor (weight 0) contributes nothing; the average factor divides.
    const l2 = sigmoidFocalLoss(tf.tensor2d([[0, 2], [5, 5]]), tf.tensor2d([[1, 0], [0, 0]]), tf.tensor1d([1, 0]), 2).dataSync()[0];
    assert.ok(Math.abs(l2 - expected / 2) < 1e-6);
  });

  it('L1 and GIoU', () => {
    assert.ok(Math.abs(l1Loss(tf.tensor2d([[1, 2, 3, 4]]), tf.tensor2d([[0, 0, 0, 0]]), tf.tensor1d([1]), 2).dataSync()[0] - 5) < 1e-6);
    // Same box: GIoU 1 → loss 0. Disjoint [0,0,1,1] vs [2,0,3,1]: IoU 0, enclosure 3, union 2 → GIoU −1/3 → loss 4/3.
    const g = giouLoss(tf.tensor2d([[0, 0, 1, 1], [0, 0, 1, 1]]), tf.tensor2d([[0, 0, 1, 1], [2, 0, 3, 1]]), tf.tensor1d([1, 1]), 1).dataSync()[0];
    assert.ok(Math.abs(g - 4 / 3) < 1e-4, `${g}`);
  });

  it('IoU loss, square (1 − IoU²) and linear (1 − IoU), weighted', () => {
    // [0,0,2,2] vs [1,0,3,2]: intersection 2, union 6 → IoU 1/3; the second pair is identical (loss 0) at weight 3.
    const pred = tf.tensor2d([[0, 0, 2, 2], [0, 0, 1, 1]]), target = tf.tensor2d([[1, 0, 3, 2], [0, 0, 1, 1]]), w = tf.tensor1d([2, 3]);
    assert.ok(Math.abs(iouLossSum(pred, target, w, 'square').dataSync()[0] - 2 * (1 - 1 / 9)) < 1e-6);
    assert.ok(Math.abs(iouLossSum(pred, target, w, 'linear').dataSync()[0] - 2 * (1 - 1 / 3)) < 1e-6);
    tf.dispose([pred, target, w]);
  });
});
