/**
 * The helper thread of engine/simd_helper.ts: our SIMD module instantiated on
 * the same shared heap as the main thread's, running one kernel call at a
 * time when the control block's sequence number moves. It blocks in
 * `Atomics.wait` between calls (no event loop turns, no messages), so a call
 * starts within microseconds. (No top-level `module` binding: Node would
 * then take this CommonJS file for an ES module.)
 */
import { workerData } from 'worker_threads';
import { CONTROL, HelperData, HELPER_FNS } from './simd_helper_protocol';

const { module: wasmModule, memory, control } = workerData as HelperData;
const kernels = new WebAssembly.Instance(wasmModule, { env: { memory } }).exports as unknown as Record<string, (...a: number[]) => void>;
const ints = new Int32Array(control, 0, CONTROL.ints);
const args = new Float64Array(control, CONTROL.ints * 4, CONTROL.args);
Atomics.store(ints, CONTROL.ready, 1);
Atomics.notify(ints, CONTROL.ready);
for (let seen = 0; ;) {
  Atomics.wait(ints, CONTROL.seq, seen);
  seen = Atomics.load(ints, CONTROL.seq);
  try {
    kernels[HELPER_FNS[Atomics.load(ints, CONTROL.fn)]](...args);
    Atomics.store(ints, CONTROL.failed, 0);
  } catch {
    Atomics.store(ints, CONTROL.failed, 1);
  }
  Atomics.store(ints, CONTROL.done, seen);
  Atomics.notify(ints, CONTROL.done);
}
