/**
 * The tfjs backend in the page: wasm (default; the backend the Node tests
 * use, so detections can be compared exactly), webgpu (`?backend=webgpu`,
 * the browser's `navigator.gpu`) or webgl (`?backend=webgl`). wasm runs its
 * single-threaded SIMD build, as in Node, from files beside the page: no
 * network at run time, no cross-origin-isolation headers needed.
 */
import { tf } from '../engine/tf';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerAllKernels } from '../kernels/register_all_kernels';

export const PAGE_BACKENDS = ['wasm', 'webgpu', 'webgl'] as const;
export type PageBackend = (typeof PAGE_BACKENDS)[number];

interface AdapterInfoLike { vendor?: string; architecture?: string; description?: string }

/** tfjs-webgpu registers itself only where `navigator.gpu` exists, so it is loaded only when asked for. */
async function loadWebGpu(): Promise<void> {
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu); try ?backend=wasm');
  await import('@tensorflow/tfjs-backend-webgpu');
}

function describe(want: PageBackend): string {
  if (want === 'wasm') return `wasm (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, 1 thread)`;
  if (want === 'webgl') return `webgl (${tf.env().getNumber('WEBGL_VERSION') === 2 ? 'WebGL 2' : 'WebGL 1'})`;
  const a = (tf.backend() as unknown as { adapterInfo?: AdapterInfoLike }).adapterInfo ?? {};
  return `webgpu (${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'adapter'}${a.description ? `, ${a.description}` : ''})`;
}

export async function initPageBackend(want: PageBackend): Promise<string> {
  if (want === 'wasm') {
    setWasmPaths(new URL('./', location.href).href);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  if (want === 'webgpu') await loadWebGpu();
  // The same kernel table as Node's initBackend (registered before the backend starts).
  registerAllKernels(want);
  if (!(await tf.setBackend(want))) throw new Error(`the ${want} backend failed to initialise in this browser`);
  await tf.ready();
  return describe(want);
}
