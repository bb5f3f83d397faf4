/**
 * A second core for our SIMD kernels. XNNPACK splits its own convs across
 * its thread pool, but our conv GEMMs and Winograd convs ran on the calling
 * thread alone, so at two threads a forward pass used one core for most of
 * its time. The helper is a worker thread holding our module instantiated on
 * the same shared heap (the threaded tfjs-wasm build's memory; the module
 * owns no memory of its own, see simd_module.ts). A kernel splits its output
 * rows in two: the helper computes one part while the calling thread
 * computes the other, then the caller waits for the helper (`Atomics.wait`,
 * which Node allows on the main thread). Nothing is copied.
 *
 * One helper per heap, started on first use; it is unref'd, so it never
 * keeps the process alive. Only the threaded build's heap is shared, and
 * that build is loaded only for two or more XNNPACK threads: a training
 * replica (one thread, the replicas already fill the cores) never splits.
 * Off with GHOSTDET_CONV_SPLIT=0.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { flag } from '../util/flags';
import type { Simd } from './simd_module';
import { CONTROL, HelperData, HelperFn, HELPER_FNS } from './simd_helper_protocol';

export interface SimdHelper {
  /** Starts `fn(...args)` on the helper thread and returns at once. */
  start(fn: HelperFn, args: number[]): void;
  /** Waits until the started call is done; throws when it failed. */
  finish(): void;
}

/** Below this many multiply-adds a conv is not split: handing half to the helper costs tens of microseconds. */
const SPLIT_MIN_MACS = 4e6;

/** Where to cut `outH` output rows in two (a multiple of `step`), or 0 to run on one thread. */
export function splitRow(outH: number, step: number, macs: number): number {
  if (macs < SPLIT_MIN_MACS || outH < 2 * step) return 0;
  return Math.ceil(outH / 2 / step) * step;
}

const helpers = new WeakMap<WebAssembly.Memory, SimdHelper | null>();

/** Waits for `slot` to leave `value`, at most `ms` (a helper that never answers is an error, not a hang). */
function waitWhile(ints: Int32Array, slot: number, value: number, ms: number, what: string): void {
  const until = Date.now() + ms;
  while (Atomics.load(ints, slot) === value) {
    if (Atomics.wait(ints, slot, value, Math.max(1, until - Date.now())) === 'timed-out' && Date.now() >= until) {
      throw new Error(`SIMD helper thread: ${what} took over ${ms} ms`);
    }
  }
}

function startHelper(simd: Simd): SimdHelper {
  const control = new SharedArrayBuffer(CONTROL.ints * 4 + CONTROL.args * 8);
  const ints = new Int32Array(control, 0, CONTROL.ints);
  const args = new Float64Array(control, CONTROL.ints * 4, CONTROL.args);
  const data: HelperData = { module: simd.module, memory: simd.memory, control };
  const worker = new Worker(path.join(__dirname, 'simd_helper_worker.js'), { workerData: data });
  worker.unref();
  waitWhile(ints, CONTROL.ready, 0, 30_000, 'starting');
  let seq = 0;
  return {
    start(fn, values) {
      args.fill(0);
      args.set(values);
      Atomics.store(ints, CONTROL.fn, HELPER_FNS.indexOf(fn));
      seq = Atomics.add(ints, CONTROL.seq, 1) + 1;
      Atomics.notify(ints, CONTROL.seq);
    },
    finish() {
      // Wait while `done` still holds the value just read: reading it twice (once to compare, once to wait on)
      // would miss a store in between and wait for a change that never comes. A conv of the largest maps takes
      // a second or two; a minute means the helper is gone.
      for (let d = Atomics.load(ints, CONTROL.done); d !== seq; d = Atomics.load(ints, CONTROL.done)) waitWhile(ints, CONTROL.done, d, 60_000, 'a kernel call');
      if (Atomics.load(ints, CONTROL.failed)) throw new Error('SIMD helper thread: the kernel call failed');
    },
  };
}

/** The helper for this module's heap, or undefined where kernels should not split (see the file comment). */
export function simdHelperFor(simd: Simd): SimdHelper | undefined {
  if (flag('GHOSTDET_CONV_SPLIT') === '0') return undefined;
  if (typeof SharedArrayBuffer === 'undefined' || !(simd.memory.buffer instanceof SharedArrayBuffer)) return undefined;
  let h = helpers.get(simd.memory);
  if (h === undefined) {
    try {
      h = startHelper(simd);
    } catch {
      h = null; // no worker threads here (a browser bundle): the kernels run on one thread
    }
    helpers.set(simd.memory, h);
  }
  return h ?? undefined;
}
