/**
 * How the gradient tape keeps the tensors a kernel's gradient needs. tfjs
 * clones each one (`saveTensorsForBackwardMode` → `Engine.clone`): an
 * `Identity` kernel call through the whole engine, plus a tape node of its
 * own so a gradient could flow through the clone, for every saved tensor
 * — ~600 a training step of the main-job detector, which only uses a saved
 * tensor inside a gradient function and never differentiates twice.
 *
 * Here a saved tensor is a new handle on the same data (the backend's
 * reference count raised, as the Identity kernels do): the same values and
 * lifetime (kept out of `tidy`, disposed by backprop), no kernel call, no
 * tape node. Second-order gradients through saved tensors (tf.grads of a
 * gradient) would not see the clone's node; nothing in ghostdet takes them.
 * GHOSTDET_TAPE_CLONES=1 keeps tfjs's behaviour.
 */
import { tf } from './tf';
import { flag } from '../util/flags';

interface EngineInternals {
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
  backend: tf.KernelBackend & { incRef?(dataId: tf.DataId): void };
}

let original: EngineInternals['saveTensorsForBackwardMode'] | undefined;

/** Installs the cheaper save on tfjs's engine (idempotent; off with GHOSTDET_TAPE_CLONES=1). */
export function installTapeSaves(): void {
  if (original || flag('GHOSTDET_TAPE_CLONES') === '1') return;
  const engine = tf.engine() as unknown as EngineInternals;
  if (typeof engine.saveTensorsForBackwardMode !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function') return;
  original = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = function save(this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    const backend = this.backend;
    if (typeof backend.incRef !== 'function') return original!.call(this, tensors);
    return tensors.map((t) => {
      backend.incRef!(t.dataId);
      return this.keep(this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }));
    });
  };
}

/** Puts tfjs's own save back (tests compare the two). */
export function uninstallTapeSaves(): void {
  if (!original) return;
  (tf.engine() as unknown as EngineInternals).saveTensorsForBackwardMode = original;
  original = undefined;
}
