import { strict as assert } from 'assert';
import { assignMaxIou } from '../../ops/assign';

const A = (...boxes: number[][]): Float32Array => Float32Array.from(boxes.flat());

describe('max-IoU assigner', () => {
  it('positive ≥ 0.5, negative < 0.4, ignored in between', () => {
    const gt = A([0, 0, 10, 10]);
    // IoUs: identical 1; [0,0,10,6] 0.6; [0,0,10,4.5] 0.45; [0,0,10,2] 0.2; far 0.
    const anchors = A([0, 0, 10, 10], [0, 0, 10, 6], [0, 0, 10, 4.5], [0, 0, 10, 2], [50, 50, 60, 60]);
    const r = assignMaxIou(anchors, gt);
    assert.deepEqual(Array.from(r.assigned), [1, 1, -1, 0, 0]);
    assert.equal(r.numPos, 2);
  });

  it('low-quality matches: a ground truth whose best IoU is < 0.5 still gets its best anchors (all ties)', () => {
    const gt = A([0, 0, 10, 10]);
    // Both anchors have IoU 0.45 with the gt: both become positive.
    const anchors = A([0, 0, 10, 4.5], [0, 5.5, 10, 10], [0, 0, 10, 2]);
    assert.deepEqual(Array.from(assignMaxIou(anchors, gt).assigned), [1, 1, 0]);
  });

  it('ties between ground truths: argmax keeps the first, low-quality pass lets the later one win', () => {
    // The anchor overlaps both gts with IoU 1/3 each… and is the best anchor of both: gt 2 (later) wins.
    const gts = A([0, 0, 10, 10], [5, 0, 15, 10]);
    const anchors = A([2.5, 0, 12.5, 10], [100, 100, 110, 110]);
    const r = assignMaxIou(anchors, gts);
    assert.deepEqual(Array.from(r.assigned), [2, 0]);
  });

  it('anchors over a crowd region (IoF ≥ 0.5) are ignored, not negative', () => {
    const r = assignMaxIou(A([0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]), A([0, 0, 2, 2]), A([18, 18, 40, 40]));
    // Anchor 2 lies inside the crowd (IoF 1); anchor 3 overlaps it by 0 — negative; anchor 1 is the gt's best.
    assert.deepEqual(Array.from(r.assigned), [1, -1, 0]);
  });

  it('no ground truth: all negatives; empty anchors: nothing', () => {
    assert.deepEqual(Array.from(assignMaxIou(A([0, 0, 1, 1]), new Float32Array(0)).assigned), [0]);
    assert.equal(assignMaxIou(new Float32Array(0), A([0, 0, 1, 1])).assigned.length, 0);
  });
});
