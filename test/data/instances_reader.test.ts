import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readInstancesForBoxes, stripSegmentations } from '../../data/instances_reader';
import { readJson } from '../../data/coco_json';
import { validateCoco } from '../../data/validate';
import { coco128 } from '../helpers';

const strip = (text: string): unknown => JSON.parse(stripSegmentations(Buffer.from(text)).toString('utf8'));

describe('instances reader for box training (segmentations not loaded)', () => {
  it('replaces polygons, RLE objects and empty lists by true/false and leaves everything else as parsed', function () {
    const src = {
      images: [{ id: 1, file_name: 'a "segmentation": [1,2].jpg', caption: '{"segmentation":[[1]]}' }],
      annotations: [
        { id: 1, segmentation: [[1.5, 2, 3, 4, 5, 6]], bbox: [1, 2, 3, 4] },
        { segmentation: { counts: 'a]b[c\\"}{', size: [4, 5] }, id: 2, bbox: [0, 0, 1, 1] },
        { id: 3, segmentation: [], bbox: [1, 1, 1, 1] },
        { id: 4, bbox: [2, 2, 2, 2], segmentation: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]] },
      ],
      categories: [{ id: 1, name: 'segmentation' }],
    };
    const expected = JSON.parse(JSON.stringify(src));
    expected.annotations[0].segmentation = true;
    expected.annotations[1].segmentation = true;
    expected.annotations[2].segmentation = false;
    expected.annotations[3].segmentation = true;
    assert.deepEqual(strip(JSON.stringify(src)), expected);
    // Pretty-printed (whitespace around keys, colons and values) reads the same.
    assert.deepEqual(strip(JSON.stringify(src, null, 2)), expected);
    assert.deepEqual(strip('{"annotations":[{"segmentation" :  [ ] , "id":1}]}'), { annotations: [{ segmentation: false, id: 1 }] });
  });

  it('coco128 read this way validates to exactly the records of a full read, and the area check still sees the polygons', function () {
    const file = path.join(coco128(this), 'annotations/instances_val2017.json');
    const o = { imagesDir: path.join(coco128(this), 'val2017'), checkFiles: 'none' as const };
    const light = validateCoco(readInstancesForBoxes(file), file, o), full = validateCoco(readJson(file), file, o);
    assert.deepEqual(light, full);
    // Without the polygons' presence, a third of coco128 would be area_mismatch (polygon area < w·h / 2).
    const stripped = readInstancesForBoxes(file) as { annotations: Array<Record<string, unknown>> };
    for (const a of stripped.annotations) delete a.segmentation;
    assert.ok(validateCoco(stripped, file, o).report.problems.some((p) => p.kind === 'area_mismatch' && p.count > 300));
  });

  it('a malformed file fails with the error a full read gives, naming the file', function () {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-inst-')), 'bad.json');
    fs.writeFileSync(f, '{"images": [], "annotations": [{"segmentation": [[1,2,3]], "bbox": [1,2,3,4]},]}');
    assert.throws(() => readInstancesForBoxes(f), (e: Error) => {
      assert.throws(() => readJson(f), (e2: Error) => e2.message === e.message);
      return /bad\.json/.test(e.message) && /malformed/.test(e.message);
    });
    assert.throws(() => readInstancesForBoxes(f + '.missing'), /bad\.json\.missing/);
  });
});
