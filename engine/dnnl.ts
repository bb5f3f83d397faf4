/**
 * oneDNN's convolutions through the optional `@ghostdet/dnnl` addon
 * (packages/dnnl), built at install where oneDNN is installed (Debian's
 * libdnnl-dev, the library PyTorch runs its CPU convolutions on). It works
 * on tensors in place in the tfjs-wasm heap, so the wasm backend keeps its
 * tensors and only the convolutions change engine.
 *
 * Why: wasm SIMD is 128 bits wide, and our conv GEMMs peak near 30 GFLOP/s
 * a core; oneDNN's AVX2/AVX-512 kernels ran the main job's training convs
 * about 3× faster on the same core (docs/kernels.md).
 *
 * Off where the addon was not built, in a browser, and with GHOSTDET_DNNL=0.
 */
import type { DnnlAddon } from '@ghostdet/dnnl';
import { flag } from '../util/flags';

let addon: DnnlAddon | null | undefined;
/** OpenMP threads last set on this thread (module state is per worker thread, as the addon's is). */
let threads = 0;

function loadAddon(): DnnlAddon | null {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  // Stubbed out of the browser bundle (web/bundle.ts), where `load` is then missing.
  const pkg = require('@ghostdet/dnnl') as Partial<typeof import('@ghostdet/dnnl')>;
  return typeof pkg.load === 'function' ? pkg.load() ?? null : null;
}

/** The addon where it is built and on, else undefined. */
export function dnnl(): DnnlAddon | undefined {
  if (flag('GHOSTDET_DNNL') === '0') return undefined;
  if (addon === undefined) addon = loadAddon();
  return addon ?? undefined;
}

/** The addon, with its OpenMP threads for this thread set to `n` (the backend's XNNPACK threads). */
export function dnnlWithThreads(n: number): DnnlAddon | undefined {
  const a = dnnl();
  if (a && n !== threads) {
    a.setThreads(n);
    threads = n;
  }
  return a;
}

/** What `describeBackend` and the benches print: "oneDNN 2.6.3", or why not. */
export function dnnlStatus(): string {
  if (flag('GHOSTDET_DNNL') === '0') return 'off (GHOSTDET_DNNL=0)';
  const a = dnnl();
  return a ? `oneDNN ${a.version()}` : 'not built';
}
