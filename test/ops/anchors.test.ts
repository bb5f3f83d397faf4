import { strict as assert } from 'assert';
import { baseAnchors, gridAnchors, numAnchors } from '../../ops/anchors';

describe('anchors (mmdetection AnchorGenerator semantics)', () => {
  it('base anchors of stride 8: ratio-major, scale-minor, centred on 0', () => {
    // scales = 4·2^(i/3) = 4, 5.0397, 6.3496; ratio r: h = √r, w = 1/√r.
    // r = 0.5, scale 4: w = 8·(1/√0.5)·4 = 45.2548, h = 8·√0.5·4 = 22.6274 → [−22.6274, −11.3137, 22.6274, 11.3137].
    const a = baseAnchors(8, {});
    assert.equal(a.length, 9 * 4);
    const close = (x: number, y: number): void => assert.ok(Math.abs(x - y) < 1e-4, `${x} vs ${y}`);
    [-22.6274, -11.3137, 22.6274, 11.3137].forEach((v, i) => close(a[i], v));
    // r = 1, scale 4 (index 3): 32×32 → [−16, −16, 16, 16].
    [-16, -16, 16, 16].forEach((v, i) => close(a[12 + i], v));
    // r = 2, scale 2^(2/3)·4 = 6.3496 (index 8): w = 8·(1/√2)·6.3496 = 35.9188, h = 8·√2·6.3496 = 71.8376.
    [-17.9594, -35.9188, 17.9594, 35.9188].forEach((v, i) => close(a[32 + i], v));
  });

  it('grid: row-major locations shifted by the stride, anchors innermost', () => {
    const o = { ratios: [1], scalesPerOctave: 1, octaveBaseScale: 1 };
    assert.equal(numAnchors(o), 1);
    // 2×3 map, stride 16, one 16×16 anchor per location at (x·16, y·16).
    const g = gridAnchors(2, 3, 16, o);
    assert.deepEqual(Array.from(g), [
      -8, -8, 8, 8, 8, -8, 24, 8, 24, -8, 40, 8,
      -8, 8, 8, 24, 8, 8, 24, 24, 24, 8, 40, 24,
    ]);
  });
});
