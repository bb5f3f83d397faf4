import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { cocoEvaluate, cocoEvaluateFiles } from '../../eval/coco_result';
import { loadGroundTruth, loadResults } from '../../eval/coco_data';
import { CocoFormatError } from '../../data/coco_json';
import { linspace } from '../../eval/coco_eval';
import { pyFixed3 } from '../../eval/coco_summary';
import { fixture } from '../helpers';

// The repository carries these cases (test/fixtures/cocoeval).
const CASES = fixture('fixtures/cocoeval')!;

/** Precision is tp / (tp + fp + spacing(1)) in pycocotools, so a "perfect" 1 is 1 − 2.2e-16: compare to 1e-12. */
function near(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `[${i}] ${v} vs ${expected[i]}`));
}

interface Expected { stats: number[]; perCategoryAP: Record<string, number>; useCats: number }

describe('COCO evaluator: pycocotools parity on the shared cases (1e-9)', () => {
  for (const name of fs.readdirSync(CASES).filter((d) => fs.statSync(path.join(CASES, d)).isDirectory())) {
    it(name, () => {
      const exp = JSON.parse(fs.readFileSync(path.join(CASES, name, 'expected.json'), 'utf8')) as Expected;
      const r = cocoEvaluateFiles(path.join(CASES, name, 'gt.json'), path.join(CASES, name, 'dt.json'), exp.useCats === 1);
      assert.equal(r.stats.length, 12);
      r.stats.forEach((s, i) => assert.ok(Math.abs(s - exp.stats[i]) <= 1e-9, `stat ${i}: ${s} vs ${exp.stats[i]}`));
      assert.deepEqual(Object.keys(r.perCategoryAP).sort(), Object.keys(exp.perCategoryAP).sort());
      for (const [k, v] of Object.entries(exp.perCategoryAP)) {
        assert.ok(Math.abs(r.perCategoryAP[k] - v) <= 1e-9, `category ${k}: ${r.perCategoryAP[k]} vs ${v}`);
      }
    });
  }
});

/** One 100×100 image, categories 1 and 2, one 10×10 ground-truth box of category 1 (area 100: "small"). */
function gt(extra: object[] = []): object {
  return {
    images: [{ id: 7, width: 100, height: 100 }],
    categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }, ...extra],
  };
}

describe('COCO evaluator: hand-derived edge cases', () => {
  it('a perfect detection: AP 1 at every threshold, −1 for empty area ranges', () => {
    const r = cocoEvaluate({ gt: gt(), dt: [{ image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }] });
    // AP, AP50, AP75, APs = 1; APm, APl = −1 (no gt there); AR1, AR10, AR100, ARs = 1; ARm, ARl = −1.
    near(r.stats, [1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1]);
    near([r.perCategoryAP[1], r.perCategoryAP[2]], [1, -1]);
  });

  it('IoU 0.62 matches at thresholds .50, .55, .60 only: AP = 3/10', () => {
    // Box [0,0,10,6.2] inside the gt: intersection 62, union 100.
    const r = cocoEvaluate({ gt: gt(), dt: [{ image_id: 7, category_id: 1, bbox: [0, 0, 10, 6.2], score: 0.9 }] });
    near(r.stats.slice(0, 3), [0.3, 1, 0]);
  });

  it('an empty results list warns and scores 0 where ground truth exists, −1 elsewhere', () => {
    const r = cocoEvaluate({ gt: gt(), dt: [] });
    assert.match(r.warnings.join('\n'), /results list is empty/);
    // precision is 0 for category 1 (nd = 0: searchsorted runs off the end at once), −1 for category 2.
    assert.deepEqual(r.stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  });

  it('results for an unknown category are counted in a warning and ignored', () => {
    const r = cocoEvaluate({ gt: gt(), dt: [
      { image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], score: 0.5 },
      { image_id: 7, category_id: 99, bbox: [0, 0, 10, 10], score: 0.9 },
    ] });
    assert.match(r.warnings.join('\n'), /1 result\(s\) name a category_id absent/);
    near([r.stats[0]], [1]);
  });

  it('useCats 0 matches across categories', () => {
    const dt = [{ image_id: 7, category_id: 2, bbox: [0, 0, 10, 10], score: 0.9 }];
    assert.equal(cocoEvaluate({ gt: gt(), dt }).stats[0], 0);
    near([cocoEvaluate({ gt: gt(), dt, useCats: false }).stats[0]], [1]);
  });

  it('a crowd region absorbs any number of detections without making false positives', () => {
    // Crowd [20,20,50,50]; two detections inside it: IoU with the crowd = inter / det area = 1.
    const g = gt([{ id: 2, image_id: 7, category_id: 1, bbox: [20, 20, 50, 50], area: 2500, iscrowd: 1 }]);
    const r = cocoEvaluate({ gt: g, dt: [
      { image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], score: 0.5 },
      { image_id: 7, category_id: 1, bbox: [25, 25, 10, 10], score: 0.9 },
      { image_id: 7, category_id: 1, bbox: [40, 40, 10, 10], score: 0.8 },
    ] });
    near([r.stats[0]], [1]);
  });

  it('refuses results on images absent from the ground truth, naming the record', () => {
    assert.throws(() => cocoEvaluate({ gt: gt(), dt: [{ image_id: 8, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }], dtFile: 'dt.json' }),
      /dt.json: result\[0\] image_id 8: results do not correspond/);
  });

  it('bad records give errors naming file, record and problem', () => {
    const g = loadGroundTruth(gt(), 'gt.json');
    const bad: Array<[object, RegExp]> = [
      [{ image_id: 7, category_id: 1, bbox: [0, 0, 1], score: 1 }, /dt.json: result\[0\]: bbox must be 4 finite numbers/],
      [{ image_id: 7, category_id: 1, bbox: [0, 0, -1, 3], score: 1 }, /negative width or height/],
      [{ image_id: 7, category_id: 1, bbox: [0, 0, 1, 1] }, /result\[0\]: missing required field "score"/],
      [{ image_id: 7, category_id: 1, bbox: [0, NaN, 1, 1], score: 1 }, /bbox must be 4 finite numbers/],
    ];
    for (const [rec, re] of bad) assert.throws(() => loadResults([rec], g, 'dt.json'), re);
    assert.throws(() => loadGroundTruth({ images: [], annotations: [] }, 'gt.json'), /gt.json: top level: missing required field "categories"/);
    const noArea = gt();
    delete (noArea as { annotations: Array<{ area?: number }> }).annotations[0].area;
    assert.throws(() => loadGroundTruth(noArea, 'gt.json'), /annotations\[0\]: missing required field "area"/);
    assert.throws(() => loadResults({}, g, 'dt.json'), CocoFormatError);
  });

  it('malformed JSON names the file', () => {
    const f = path.join(require('os').tmpdir(), 'ghostdet-bad.json');
    fs.writeFileSync(f, '[{"image_id": 1,');
    assert.throws(() => cocoEvaluateFiles(f, f), /ghostdet-bad.json: JSON: malformed/);
  });

  it('thresholds are numpy.linspace values and summaries print like Python', () => {
    assert.equal(linspace(0.5, 0.95, 10)[5], 0.75);
    assert.equal(linspace(0, 1, 101)[100], 1);
    // Python rounds exact binary ties half-to-even: '{:0.3f}'.format(0.0625) == '0.062'.
    assert.equal(pyFixed3(0.0625), '0.062');
    assert.equal(pyFixed3(0.1875), '0.188');
    assert.equal(pyFixed3(-1), '-1.000');
    assert.equal(pyFixed3(0.3331535), '0.333');
  });
});
