/**
 * `Identity` on wasm shares the tensor's data (a reference count, as the cpu
 * backend does) instead of copying it. The gradient tape clones every tensor
 * it saves for the backward pass — each conv's input, each norm's input — and
 * wasm's own Identity copied each one: ~700 copies per detector training
 * step. Tensors are immutable (a variable's assign swaps its data), so the
 * share is never written through.
 */
import { tf } from '../engine/tf';

interface RefCounted {
  incRef(dataId: tf.DataId): void;
}

/** Replaces wasm's copying Identity; none on other backends (cpu already shares). */
export function identityConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  return [{
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      (backend as unknown as RefCounted).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  }];
}
