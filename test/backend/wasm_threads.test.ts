import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as path from 'path';

/**
 * Each case runs in its own Node process: a process picks its wasm build once
 * (see backend/init_backend.ts), and this one already runs the tests on one.
 */
function probe(threads: number): { line: string; sum: number; grad: number[] } {
  const dist = path.resolve(__dirname, '..', '..');
  const script = `
    const { initBackend, describeBackend } = require(${JSON.stringify(path.join(dist, 'backend', 'init_backend'))});
    const { tf } = require(${JSON.stringify(path.join(dist, 'engine', 'tf'))});
    (async () => {
      const info = await initBackend('wasm');
      const x = tf.tensor4d(Array.from({ length: 2 * 17 * 13 * 24 }, (_, i) => Math.sin(i)), [2, 17, 13, 24]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 24 * 40 }, (_, i) => Math.cos(i) / 9), [3, 3, 24, 40]);
      const f = (ww) => tf.sum(tf.square(tf.conv2d(x, ww, 2, 'same')));
      const sum = f(w).dataSync()[0];
      const grad = Array.from(tf.grad(f)(w).dataSync().slice(0, 64));
      console.log(JSON.stringify({ line: describeBackend(info), sum, grad }));
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GHOSTDET_THREADS: String(threads) }, timeout: 60000 });
  return JSON.parse(out.trim().split('\n').pop() as string) as { line: string; sum: number; grad: number[] };
}

describe('threaded wasm under Node', function () {
  this.timeout(120000);

  it('GHOSTDET_THREADS=2 starts XNNPACK with 2 threads, gives the single-threaded results and lets the process exit', () => {
    const one = probe(1);
    const two = probe(2);
    assert.match(one.line, /, 1 thread,/);
    assert.match(two.line, /, 2 threads,/, two.line);
    assert.ok(Math.abs(two.sum - one.sum) <= 1e-5 * Math.abs(one.sum), `${two.sum} vs ${one.sum}`);
    two.grad.forEach((g, i) => assert.ok(Math.abs(g - one.grad[i]) <= 1e-4 * Math.max(1, Math.abs(one.grad[i])), `grad[${i}] ${g} vs ${one.grad[i]}`));
  });

  it('a bad GHOSTDET_THREADS is refused with a message naming it', () => {
    assert.throws(() => probe('two' as unknown as number), /GHOSTDET_THREADS must be a whole number/);
  });
});
