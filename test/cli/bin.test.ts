import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

describe('ghostdet command', function () {
  this.timeout(60000);
  const root = path.resolve(__dirname, '..', '..', '..');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = path.join(root, pkg.bin.ghostdet);

  it('the package bin is executable (npx ghostdet runs it directly) and answers --help', () => {
    assert.ok(fs.statSync(bin).mode & 0o100, `${bin} is not executable: "npm run build" sets the mode`);
    const out = execFileSync(bin, ['--help'], { encoding: 'utf8' });
    assert.match(out, /ghostdet train/);
  });
});
