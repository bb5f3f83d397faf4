import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as path from 'path';

/**
 * At two XNNPACK threads our forward convs split their output rows with a
 * helper thread on the shared heap (engine/simd_helper.ts). In a child
 * process (a process picks its wasm build once): convs large enough to split
 * — Winograd 3×3, the GEMM at stride 2 and 1×1 over a batch of 2, a grouped
 * conv, and the input gradients that run as split forward GEMMs — give the
 * cpu backend's values within 1e-4, with the split on and with it off; and
 * 1500 split convs in a row all return. (A missed wake-up in the hand-off
 * once stalled a training step at 320×192; its window is a few instructions
 * wide, so this loop exercises the hand-off but need not catch that race.)
 */
function probe(): { helper: boolean; stressMs: number; results: Array<{ name: string; vsCpu: number; splitVsOff: number; scale: number }> } {
  const dist = path.resolve(__dirname, '..', '..');
  const req = (p: string): string => `require(${JSON.stringify(path.join(dist, p))})`;
  const script = `
    const { initBackend } = ${req('backend/init_backend')};
    const { tf } = ${req('engine/tf')};
    const { simdFor } = ${req('engine/simd_module')};
    const { simdHelperFor } = ${req('engine/simd_helper')};
    const { groupedConv2d } = ${req('kernels/grouped_conv')};
    (async () => {
      await initBackend('wasm');
      const t = (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed);
      const cases = {
        winograd3x3: [t([1, 40, 36, 32], 1), t([3, 3, 32, 32], 2), (x, w) => tf.conv2d(x, w, 1, 'same')],
        gemmStride2: [t([1, 48, 44, 24], 3), t([3, 3, 24, 40], 4), (x, w) => tf.conv2d(x, w, 2, 'same')],
        gemm1x1Batch2: [t([2, 40, 30, 64], 5), t([1, 1, 64, 48], 6), (x, w) => tf.conv2d(x, w, 1, 'valid')],
        grouped: [t([1, 44, 40, 48], 7), t([3, 3, 6, 48], 8), (x, w) => groupedConv2d(x, w, 1, 'same', 8), (x, w) => tf.concat(tf.split(x, 8, 3).map((xi, i) => tf.conv2d(xi, tf.slice(w, [0, 0, 0, 6 * i], [3, 3, 6, 6]), 1, 'same')), 3)],
        inputGrad3x3: [t([1, 40, 36, 32], 9), t([3, 3, 32, 32], 10), (x, w) => tf.grad((xx) => tf.sum(tf.square(tf.conv2d(xx, w, 1, 'same'))))(x)],
        inputGradStride2: [t([1, 48, 44, 24], 11), t([3, 3, 24, 40], 12), (x, w) => tf.grad((xx) => tf.sum(tf.square(tf.conv2d(xx, w, 2, 'same'))))(x)],
      };
      const helper = simdHelperFor(simdFor(tf.backend())) !== undefined;
      const results = [];
      for (const [name, [x, w, f, onCpu]] of Object.entries(cases)) {
        process.env.GHOSTDET_CONV_SPLIT = '1';
        const split = f(x, w).dataSync();
        process.env.GHOSTDET_CONV_SPLIT = '0';
        const off = (onCpu && name === 'grouped' ? onCpu : f)(x, w).dataSync();
        const xs = x.arraySync(), ws = w.arraySync();
        await tf.setBackend('cpu');
        const cpu = (onCpu ?? f)(tf.tensor(xs), tf.tensor(ws)).dataSync();
        await tf.setBackend('wasm');
        let vsCpu = 0, splitVsOff = 0, scale = 0;
        for (let i = 0; i < cpu.length; i++) {
          vsCpu = Math.max(vsCpu, Math.abs(split[i] - cpu[i]));
          splitVsOff = Math.max(splitVsOff, Math.abs(split[i] - off[i]));
          scale = Math.max(scale, Math.abs(cpu[i]));
        }
        results.push({ name, vsCpu, splitVsOff, scale });
      }
      // Many back-to-back splits: the hand-off between the threads must never miss a wake-up.
      process.env.GHOSTDET_CONV_SPLIT = '1';
      const [sx, sw] = [t([1, 40, 36, 32], 21), t([3, 3, 32, 32], 22)]; // 13 M MACs: above the split threshold
      const t0 = Date.now();
      for (let i = 0; i < 1500; i++) tf.dispose(tf.conv2d(sx, sw, 1, 'same'));
      const stressMs = Date.now() - t0;
      console.log(JSON.stringify({ helper, results, stressMs }));
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GHOSTDET_THREADS: '2', GHOSTDET_DNNL: '0' }, timeout: 120000 });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

describe('conv kernels split across two cores (helper thread)', function () {
  this.timeout(180000);

  it('at 2 threads the helper runs, and split convs and input gradients equal cpu within 1e-4 (relative to the largest value)', () => {
    const { helper, results, stressMs } = probe();
    assert.ok(helper, 'the helper thread did not start on the threaded build');
    // A missed wake-up stalls a call for the helper's 60 s timeout and fails the child.
    assert.ok(stressMs < 60_000, `1500 split convs took ${stressMs} ms`);
    assert.equal(results.length, 6);
    for (const r of results) {
      assert.ok(r.vsCpu <= 1e-4 * Math.max(1, r.scale), `${r.name}: split vs cpu ${r.vsCpu} (values up to ${r.scale})`);
      assert.ok(r.splitVsOff <= 1e-4 * Math.max(1, r.scale), `${r.name}: split vs unsplit ${r.splitVsOff} (values up to ${r.scale})`);
    }
  });
});
