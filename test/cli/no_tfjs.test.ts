import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fixture } from '../helpers';

/**
 * `ghostdet cocoeval` and `ghostdet convert` are promised to work without a
 * tfjs backend: run each in a child process and list the modules it loaded.
 */
describe('commands that load no TensorFlow.js', function () {
  this.timeout(60000);
  const bin = path.resolve(__dirname, '..', '..', 'cli', 'main.js');
  let dir: string;
  let hook: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-notf-'));
    hook = path.join(dir, 'list_modules.js');
    // Prints, at exit, every module file the process loaded.
    fs.writeFileSync(hook, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const loaded = (args: string[]): string[] => {
    const r = spawnSync(process.execPath, ['-r', hook, bin, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
    assert.ok(line, 'the module list was not printed');
    return JSON.parse(line.slice(7)) as string[];
  };

  it('cocoeval', () => {
    const c = fixture('fixtures/cocoeval/crowd')!;
    const mods = loaded(['cocoeval', '--gt', path.join(c, 'gt.json'), '--dt', path.join(c, 'dt.json')]);
    assert.ok(mods.some((m) => m.includes(`${path.sep}eval${path.sep}coco_eval.js`)), 'the evaluator itself was loaded');
    assert.deepEqual(mods.filter((m) => m.includes('@tensorflow')), []);
  });

  it('convert', () => {
    const out = path.join(dir, 'views.safetensors');
    const mods = loaded(['convert', fixture('fixtures/checkpoints/views.pt')!, out]);
    assert.ok(fs.existsSync(out));
    assert.deepEqual(mods.filter((m) => m.includes('@tensorflow')), []);
  });

  it('the check sees tfjs where a command loads it (info --list)', () => {
    assert.ok(loaded(['info', '--list']).some((m) => m.includes('@tensorflow')));
  });
});
