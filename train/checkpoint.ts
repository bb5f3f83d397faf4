/**
 * Checkpoints: one safetensors file holding the model's parameters and buffers
 * (PyTorch names and layout — it opens in Python), the optimizer slots under
 * `optimizer.<param>.<slot>`, the weight averages under `ema.<name>` when
 * training keeps an EMA, and the training state (epoch, iteration, LR,
 * best metric, resolved config, label map, RNG seed) as JSON in the header
 * metadata. Written atomically (temp + rename): a kill leaves the previous file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { readSafetensors, RawTensor, writeSafetensors } from '../weights/safetensors';
import { loadStateDict, moduleStateDict, toTorchLayout } from '../nn/state_dict';
import type { Module } from '../nn/module';
import type { Optimizer, OptimizerState } from './optimizer';
import type { Ema } from './ema';

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
  /** EMA updates done, when the checkpoint holds `ema.*` averages. */
  emaSteps?: number;
}

const OPT = 'optimizer.';
const EMA = 'ema.';

export async function saveCheckpoint(file: string, model: Module, opt: Optimizer | undefined, state: TrainState, ema?: Ema): Promise<void> {
  const tensors = await moduleStateDict(model);
  if (ema) {
    const layouts = new Map(model.namedTensors().map((t) => [t.name, t.layout]));
    for (const { name, value } of ema.named()) {
      const { shape, data } = await toTorchLayout(layouts.get(name)!, value);
      tensors.set(EMA + name, { dtype: 'F32', shape, data });
    }
    state = { ...state, emaSteps: ema.steps };
  }
  let optMeta: TrainState['optimizer'];
  if (opt) {
    const names = new Map(model.namedParameters().map((t) => [t.variable, t.name]));
    const s = opt.state(names);
    optMeta = { kind: s.kind, lr: s.lr, step: s.step };
    for (const [k, v] of Object.entries(s.slots)) {
      tensors.set(OPT + k, { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array });
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

/** The `ema.*` averages of a checkpoint, by parameter name (empty when it has none). */
function emaWeights(ck: LoadedCheckpoint): Map<string, RawTensor> {
  return new Map([...ck.tensors].filter(([k]) => k.startsWith(EMA)).map(([k, v]) => [k.slice(EMA.length), v]));
}

/**
 * Restores weights (strict). To resume (`opt` given): the raw weights, the
 * optimizer slots and, into `ema`, the averages. For inference (no `opt`): the
 * averages when the checkpoint has them — the EMA is the trained model, as
 * mmdetection evaluates it — else the raw weights.
 */
export function restoreCheckpoint(ck: LoadedCheckpoint, model: Module, opt?: Optimizer, source = 'checkpoint', ema?: Ema): void {
  const averaged = emaWeights(ck);
  const weights = new Map([...ck.tensors].filter(([k]) => !k.startsWith(OPT) && !k.startsWith(EMA)));
  loadStateDict(model, !opt && averaged.size ? averaged : weights, { strict: true, source });
  if (opt && ema && averaged.size) {
    // Load the averages through the model's own layout transforms, then swap them into the EMA.
    ema.swap();
    try {
      loadStateDict(model, averaged, { strict: true, source: `${source} (ema)` });
    } finally {
      ema.swap();
    }
    ema.steps = ck.state.emaSteps ?? 0;
  }
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
