/**
 * Hostile inputs through the real CLI, each in a child process under an
 * address-space limit and a timeout: a clean refusal naming the file (or a
 * correct success), within the memory and time limits, and no stack trace.
 */
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { CASES } from './cases';
import { CLI, hasGnuTime, runCli } from './run_cli';

/** Peak resident memory a refusal may take, and an accepted input (MB). */
const REFUSAL_MB = 600, ACCEPT_MB = 1536;

describe('hostile inputs (the real CLI under a memory limit)', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-hostile-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  if (!hasGnuTime()) it('peak memory is measured with GNU time (/usr/bin/time)', function () { this.skip(); });

  for (const c of CASES) {
    it(`${c.cls}: ${c.name}`, function () {
      const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
      const made = c.make(dir);
      const r = runCli(made.args, { memoryMB: ACCEPT_MB, timeoutS: 60 }, dir);
      const shown = `exit ${r.status}, ${r.peakMB?.toFixed(0) ?? '?'} MB, ${r.seconds.toFixed(1)} s:\n${r.output.slice(0, 2000)}`;
      assert.ok(!r.timedOut, `timed out: ${shown}`);
      assert.equal(r.status === 0, made.accept, shown);
      assert.match(r.output, made.says, shown);
      assert.doesNotMatch(r.output, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace reached the user: ${shown}`);
      if (!made.accept) {
        assert.equal(r.status, 1, shown);
        assert.ok(r.output.includes(dir) || r.output.includes('/dev/zero'), `the refusal does not name the file: ${shown}`);
      }
      if (r.peakMB !== undefined) assert.ok(r.peakMB < (made.accept ? ACCEPT_MB : REFUSAL_MB), `peak ${r.peakMB.toFixed(0)} MB: ${shown}`);
      made.check?.(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }

  it('data check opens nothing outside --images (strace), and counts only the inside image', function () {
    if (spawnSync('strace', ['-V']).status !== 0 || spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(tmp, 'strace-'));
    const images = path.join(dir, 'images'), outside = path.join(dir, 'outside');
    fs.mkdirSync(images);
    fs.mkdirSync(outside);
    const png = PNG.sync.write(new PNG({ width: 8, height: 8 }));
    fs.writeFileSync(path.join(images, 'good.png'), png);
    fs.writeFileSync(path.join(outside, 'secret.png'), png);
    fs.symlinkSync(path.join(outside, 'secret.png'), path.join(images, 'link.png'));
    const names = ['good.png', '../outside/secret.png', path.join(outside, 'secret.png'), 'link.png', '/etc/passwd', '/dev/zero'];
    const ann = path.join(dir, 'instances.json');
    fs.writeFileSync(ann, JSON.stringify({
      images: names.map((file_name, i) => ({ id: i + 1, file_name, width: 8, height: 8 })),
      annotations: names.map((_, i) => ({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [1, 1, 4, 4], area: 16, iscrowd: 0 })),
      categories: [{ id: 1, name: 'thing' }],
    }));
    const log = path.join(dir, 'strace.log');
    const r = spawnSync('strace', ['-f', '-e', 'trace=open,openat,openat2', '-o', log, process.execPath, CLI, 'data', 'check', '--ann', ann, '--images', images, '--workers', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /6 images, 6 annotations, 1 categories; usable: 1 images, 1 annotations/);
    assert.match(r.stdout, /image_outside_root: 5/);
    const opened = fs.readFileSync(log, 'utf8').split('\n').map((l) => /open(?:at2?)?\((?:[^,]+, )?"([^"]+)"/.exec(l)?.[1]).filter((f): f is string => f !== undefined);
    assert.ok(opened.some((f) => f.endsWith('good.png')), 'the inside image was not opened');
    for (const bad of ['secret.png', '/etc/passwd', '/dev/zero']) assert.ok(!opened.some((f) => f.includes(bad)), `${bad} was opened: ${opened.filter((f) => f.includes(bad))}`);
  });

  it('serve survives 300 aborted downloads: open files return to their baseline and it still answers', async function () {
    const site = fs.mkdtempSync(path.join(tmp, 'site-'));
    fs.writeFileSync(path.join(site, 'index.html'), '<p>ok</p>');
    fs.writeFileSync(path.join(site, 'weights.safetensors'), Buffer.alloc(16 * 2 ** 20, 1));
    const child = spawn(process.execPath, [CLI, 'serve', site, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /:(\d+)\//.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const get = (p: string, abort: boolean): Promise<number> => new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: p }, (res) => {
          if (abort) {
            res.once('data', () => { req.destroy(); resolve(res.statusCode ?? 0); });
          } else {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          }
        });
        req.on('error', (e) => (abort ? resolve(0) : reject(e)));
      });
      const fds = (): number => fs.readdirSync(`/proc/${child.pid}/fd`).length;
      assert.equal(await get('/index.html', false), 200);
      const baseline = fds();
      for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, () => get('/weights.safetensors', true)));
      // Closed sockets and destroyed streams are released on the server's next turns.
      let now = fds();
      for (let t = 0; t < 50 && now > baseline; t++) {
        await new Promise((r) => setTimeout(r, 100));
        now = fds();
      }
      assert.ok(now <= baseline, `open files: ${baseline} before, ${now} after 300 aborted downloads`);
      assert.equal(await get('/index.html', false), 200);
      assert.equal(child.exitCode, null, 'the server exited');
    } finally {
      child.kill();
    }
  });
});
