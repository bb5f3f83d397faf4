/**
 * The one place that says which kernels ghostdet registers on which tfjs
 * backend (the map below) and registers them. Called by `initBackend` in
 * Node and by the browser page, after the backend is chosen and before any
 * op runs. A backend missing from the map (webgpu, tensorflow, webgl) runs
 * tfjs's own kernels, and our ops take their composed-ops paths there.
 */
import { tf } from '../engine/tf';
import { convGemmConfigs } from './conv_gemm';
import { convGradConfigs } from './conv_grad';
import { dnnlDepthwiseConfigs } from './conv_dnnl';
import { elementwiseConfigs } from './elementwise';
import { groupedConvConfigs, groupedConvGradConfig } from './grouped_conv';
import { identityConfigs } from './identity';
import { normAffineGradConfig, normConfigs } from './norm';
import { optimizerConfigs } from './optimizer';
import { repeatConfigs } from './repeat';
import { resizeNearestGradConfigs } from './resize_nearest_grad';
import { siluConfigs } from './silu';
import { splitConcatConfigs } from './split_concat';
import { weightedSumConfigs } from './weighted_sum';

/** A kernel file's configs for one backend (a replacement may wrap the kernel it replaces). */
type KernelConfigs = (backendName: string) => tf.KernelConfig[];

/** Backend → the kernel files whose configs it gets. */
const KERNELS: Readonly<Record<string, readonly KernelConfigs[]>> = {
  wasm: [convGemmConfigs, dnnlDepthwiseConfigs, convGradConfigs, elementwiseConfigs, splitConcatConfigs, identityConfigs, groupedConvConfigs,
    normConfigs, optimizerConfigs, weightedSumConfigs, siluConfigs, repeatConfigs],
  cpu: [resizeNearestGradConfigs, normConfigs, optimizerConfigs, weightedSumConfigs, siluConfigs, repeatConfigs],
};

/** Gradients of our differentiable kernels (backend-independent: they call kernels by name). */
const GRADIENTS: readonly tf.GradConfig[] = [normAffineGradConfig, groupedConvGradConfig];

const done = new Set<string>();

/** The backends `registerAllKernels` gives kernels to. */
export function backendsWithKernels(): string[] {
  return Object.keys(KERNELS);
}

/**
 * Registers our kernels for `backendName`, replacing tfjs's where we have
 * our own (idempotent: a second call does nothing, so a replacement never
 * wraps itself).
 */
export function registerAllKernels(backendName: string): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  // Every config is made before any is registered: replacements capture the kernel they wrap.
  const configs = (KERNELS[backendName] ?? []).flatMap((make) => make(backendName));
  for (const c of configs) {
    if (tf.getKernel(c.kernelName, backendName)) tf.unregisterKernel(c.kernelName, backendName);
    tf.registerKernel(c);
  }
}
