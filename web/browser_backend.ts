/**
 * The tfjs backend in the page: wasm (default; the backend the Node tests
 * use, so detections can be compared exactly) or webgl (`?backend=webgl`).
 * wasm runs its single-threaded SIMD build, as in Node, from files beside
 * the page: no network at run time, no cross-origin-isolation headers needed.
 */
import { tf } from '../engine/tf';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerAllKernels } from '../kernels/register_all_kernels';

export type PageBackend = 'wasm' | 'webgl';

export async function initPageBackend(want: PageBackend): Promise<string> {
  if (want === 'wasm') {
    setWasmPaths(new URL('./', location.href).href);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  // The same kernel table as Node's initBackend (registered before the backend starts).
  registerAllKernels(want);
  if (!(await tf.setBackend(want))) throw new Error(`the ${want} backend failed to initialise in this browser`);
  await tf.ready();
  return want === 'wasm' ? `wasm (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, 1 thread)` : `webgl (${tf.env().getNumber('WEBGL_VERSION') === 2 ? 'WebGL 2' : 'WebGL 1'})`;
}
