import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../../util/atomic_write';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-atomic-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes chunks made one at a time, in order', () => {
    const f = path.join(dir, 'out.bin');
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 5; i++) yield new Uint8Array(1000).fill(i);
    }
    writeFileAtomic(f, chunks());
    const b = fs.readFileSync(f);
    assert.equal(b.length, 5000);
    assert.deepEqual([b[0], b[1999], b[2000], b[4999]], [0, 1, 2, 4]);
    assert.deepEqual(fs.readdirSync(dir), ['out.bin']);
  });

  it('a write that fails keeps the old file and leaves no temp file', () => {
    const f = path.join(dir, 'out.bin');
    writeFileAtomic(f, 'old');
    function* failing(): Generator<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('the source broke');
    }
    assert.throws(() => writeFileAtomic(f, failing()), /the source broke/);
    assert.equal(fs.readFileSync(f, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['out.bin']);
  });

  it('a rename that fails (the target is a folder) leaves no temp file', () => {
    const f = path.join(dir, 'taken');
    fs.mkdirSync(path.join(f, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(f, 'x'));
    assert.deepEqual(fs.readdirSync(dir), ['taken']);
  });
});
