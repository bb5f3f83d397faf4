/**
 * A kernel config that stands in front of a backend's own kernel: `run`
 * handles the calls it can and returns undefined for the rest, which go to
 * the kernel it replaces (whose setup and dispose stay registered with it,
 * as XNNPACK's operator caches need).
 */
import { tf } from '../engine/tf';

type KernelArgs = Parameters<tf.KernelFunc>[0];

export function replaceKernel(kernelName: string, backendName: string, run: (args: KernelArgs) => tf.TensorInfo | undefined): tf.KernelConfig[] {
  const own = tf.getKernel(kernelName, backendName);
  if (!own) return [];
  return [{
    kernelName, backendName, setupFunc: own.setupFunc, disposeFunc: own.disposeFunc,
    kernelFunc: (args) => run(args) ?? own.kernelFunc(args),
  }];
}
