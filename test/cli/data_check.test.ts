import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { coco128 } from '../helpers';


describe('ghostdet data check', function () {
  this.timeout(120000);
  const bin = path.resolve(__dirname, '..', '..', 'cli', 'main.js');

  it('with no flags, decodes every image and names a JPEG truncated to a third (id and file); --headers-only does not see it', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-check-'));
    const j = JSON.parse(fs.readFileSync(path.join(coco128(this), 'annotations/instances_val2017.json'), 'utf8'));
    j.images = j.images.slice(0, 16);
    const ids = new Set(j.images.map((im: { id: number }) => im.id));
    j.annotations = j.annotations.filter((a: { image_id: number }) => ids.has(a.image_id));
    fs.mkdirSync(path.join(dir, 'img'));
    for (const im of j.images) fs.copyFileSync(path.join(coco128(this), 'val2017', im.file_name), path.join(dir, 'img', im.file_name));
    const victim = j.images[3];
    const f = path.join(dir, 'img', victim.file_name);
    const bytes = fs.readFileSync(f);
    fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 3)));
    fs.writeFileSync(path.join(dir, 'ann.json'), JSON.stringify(j));
    const check = (...extra: string[]): { out: string; code: number | null } => {
      const r = spawnSync(process.execPath, [bin, 'data', 'check', '--ann', path.join(dir, 'ann.json'), '--images', path.join(dir, 'img'), '--json', path.join(dir, 'report.json'), ...extra], { encoding: 'utf8' });
      return { out: r.stdout + r.stderr, code: r.status };
    };
    const full = check();
    assert.equal(full.code, 0, full.out);
    assert.match(full.out, new RegExp(`image_undecodable: 1 \\(image and its annotations skipped\\)\\n\\s+- image id ${victim.id} \\(${victim.file_name}\\): .*cannot decode JPEG`));
    assert.match(full.out, /usable: 15 images/);
    assert.match(full.out, /checked 16 images \(decoded, \d+ workers?\)/);
    assert.match(full.out, /decoding \[=+\] 100% \| 16\/16 images/);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    assert.equal(report.usableImages, 15);
    const quick = check('--headers-only');
    assert.equal(quick.code, 0);
    assert.match(quick.out, /no problems found/);
  });
});
