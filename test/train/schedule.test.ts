import { strict as assert } from 'assert';
import { lrAt } from '../../train/schedule';

describe('LR schedules', () => {
  const base = { baseLr: 0.01, kind: 'step' as const, steps: [8, 11], gamma: 0.1, warmupIters: 500, warmupRatio: 0.001, itersPerEpoch: 1000, epochs: 12 };
  it('linear warmup as mmcv: lr·(1 − (1 − i/w)(1 − ratio))', () => {
    assert.ok(Math.abs(lrAt(base, 0, 0) - 0.01 * 0.001) < 1e-12);
    assert.ok(Math.abs(lrAt(base, 250, 0) - 0.01 * (1 - 0.5 * 0.999)) < 1e-12);
    assert.equal(lrAt(base, 500, 0), 0.01);
  });
  it('steps at epochs 8 and 11', () => {
    assert.equal(lrAt(base, 7999, 7), 0.01);
    assert.ok(Math.abs(lrAt(base, 8000, 8) - 0.001) < 1e-12);
    assert.ok(Math.abs(lrAt(base, 11000, 11) - 0.0001) < 1e-12);
  });
  it('cosine goes from lr to 0 over all iterations', () => {
    const c = { ...base, kind: 'cosine' as const, warmupIters: 0 };
    assert.equal(lrAt(c, 0, 0), 0.01);
    assert.ok(Math.abs(lrAt(c, 6000, 6) - 0.005) < 1e-12);
    assert.ok(Math.abs(lrAt(c, 12000, 12)) < 1e-12);
  });
});
