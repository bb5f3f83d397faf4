/**
 * Checkpoints: one safetensors file holding the model's parameters and buffers
 * (PyTorch names and layout — it opens in Python), the optimizer slots under
 * `optimizer.<param>.<slot>`, and the training state (epoch, iteration, LR,
 * best metric, resolved config, label map, RNG seed) as JSON in the header
 * metadata. Written atomically (temp + rename): a kill leaves the previous file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { loadStateDict, moduleStateDict, readSafetensors, RawTensor, writeSafetensors } from '../runtime/safetensors';
import type { Module } from '../nn/module';
import type { Optimizer, OptimizerState } from './optimizer';

export interface TrainState {
  /** Epochs fully done. */
  epoch: number;
  /** Batches done in the current epoch (a mid-epoch checkpoint, e.g. on Ctrl-C). */
  batchInEpoch: number;
  /** Global iterations done. */
  iter: number;
  best?: { metric: string; value: number; epoch: number };
  config: unknown;
  labels?: { catIds: number[]; names: string[] };
  optimizer?: { kind: string; lr: number; step?: number };
  hooks?: Record<string, unknown>;
}

const OPT = 'optimizer.';

export function saveCheckpoint(file: string, model: Module, opt: Optimizer | undefined, state: TrainState): void {
  const tensors = moduleStateDict(model);
  let optMeta: TrainState['optimizer'];
  if (opt) {
    const names = new Map(model.namedParameters().map((t) => [t.variable, t.name]));
    const s = opt.state(names);
    optMeta = { kind: s.kind, lr: s.lr, step: s.step };
    for (const [k, v] of Object.entries(s.slots)) {
      tensors.set(OPT + k, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array });
    }
  }
  writeSafetensors(file, tensors, { format: 'pt', ghostdet_state: JSON.stringify({ ...state, optimizer: optMeta }) });
}

export interface LoadedCheckpoint {
  state: TrainState;
  tensors: Map<string, RawTensor>;
}

export function readCheckpoint(file: string): LoadedCheckpoint {
  const f = readSafetensors(file);
  const raw = f.metadata.ghostdet_state;
  if (!raw) throw new Error(`${file}: not a ghostdet checkpoint (no ghostdet_state metadata); to load plain weights use loadSafetensors`);
  return { state: JSON.parse(raw) as TrainState, tensors: f.tensors };
}

/** Restores weights (strict) and, when given, the optimizer slots. */
export function restoreCheckpoint(ck: LoadedCheckpoint, model: Module, opt?: Optimizer, source = 'checkpoint'): void {
  const weights = new Map([...ck.tensors].filter(([k]) => !k.startsWith(OPT)));
  loadStateDict(model, weights, { strict: true, source });
  if (opt && ck.state.optimizer) {
    const byName = new Map(model.namedParameters().map((t) => [t.name, t.variable]));
    const slots: OptimizerState['slots'] = {};
    for (const [k, v] of ck.tensors) if (k.startsWith(OPT)) slots[k.slice(OPT.length)] = tf.tensor(v.data as Float32Array, v.shape);
    opt.restore({ ...ck.state.optimizer, slots }, byName);
    tf.dispose(Object.values(slots));
  }
}

/** The newest `*.safetensors` checkpoint in a work dir (by mtime), or undefined. */
export function newestCheckpoint(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors') && !f.includes('.tmp-')).map((f) => path.join(dir, f));
  return files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}
