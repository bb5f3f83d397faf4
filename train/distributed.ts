/**
 * Data parallelism across processes (`--launcher mpi`): every rank sees the
 * same global batch (the loader is a pure function of seed, epoch and batch
 * index), cuts it into ranks × replicas shares exactly as one process with
 * that many replicas would, computes the gradients of its own shares, and
 * one all-reduce over one flat buffer gives every rank the same mean
 * gradients and losses. Every rank then takes the same optimizer step, so
 * the weights stay equal without being sent again.
 */
import { tf } from '../engine/tf';
import type { Batch } from '../data/loader';
import type { Detector } from '../detectors/detector';
import type { Communicator } from './communicator';
import { DataParallel } from './data_parallel';
import { computeGrads, Gradients } from './step';
import type { Optimizer } from './optimizer';
import { packedLength, packTensors, unpackInto, unpackViews } from './flat_tensors';

/** Rank 0's weights (parameters and buffers), and its optimizer slots when it has any, into every rank. */
export function broadcastState(comm: Communicator, model: Detector, optimizer: Optimizer): void {
  if (comm.size === 1) return;
  const vars = model.namedTensors().map((t) => t.variable);
  const weights = packTensors(vars);
  comm.broadcast(weights.flat, 0);
  unpackInto(vars, weights);
  const names = new Map(model.namedTensors().map((t) => [t.variable, t.name] as const));
  const state = optimizer.state(names);
  const slotNames = Object.keys(state.slots).sort();
  // Every rank restored the same checkpoint (or none): the same slots, whose values rank 0's replace.
  const count = new Float64Array([slotNames.length]);
  comm.allreduceSum(count);
  if (count[0] !== slotNames.length * comm.size) throw new Error('the ranks hold different optimizer states: give every rank the same --resume checkpoint');
  if (!slotNames.length) return;
  const slots = packTensors(slotNames.map((k) => state.slots[k]));
  comm.broadcast(slots.flat, 0);
  const views = unpackViews(slots);
  const byName = new Map(model.namedTensors().map((t) => [t.name, t.variable] as const));
  const received = Object.fromEntries(slotNames.map((k, i) => [k, tf.tensor(views[i]!, state.slots[k].shape)]));
  optimizer.restore({ ...state, slots: received }, byName);
  tf.dispose(Object.values(received));
}

/**
 * This rank's part of a global step: the mean gradients and losses over
 * every replica of every rank, the same on all ranks. `dp` runs this rank's
 * replicas (undefined: one).
 */
export async function distributedGrads(comm: Communicator, dp: DataParallel | undefined, model: Detector, vars: tf.Variable[], batch: Batch): Promise<Gradients> {
  const replicas = dp?.replicas ?? 1;
  const all = DataParallel.splitAll(batch, comm.size * replicas);
  const mine = all.slice(comm.rank * replicas, (comm.rank + 1) * replicas).filter((s): s is Batch => s !== undefined);
  // Every rank needs a share: each must report the same loss terms, and an idle rank would only wait.
  if (!mine.length) throw new Error(`a batch of ${batch.shape[0]} images leaves rank ${comm.rank} nothing: train.batchSize must be at least ranks × train.workers (${comm.size} × ${replicas})`);
  const total = all.filter((s) => s !== undefined).length;
  const local = dp ? await dp.gradsOfShares(model, vars, mine) : await computeGrads(() => {
    const x = tf.tensor4d(mine[0].images, mine[0].shape);
    return model.loss(model.forward(x), mine[0].targets);
  }, vars);
  // One buffer: this rank's mean gradients weighted by its share of the replicas, then a 1 per variable that has a gradient.
  const weight = mine.length / total;
  const sizes = vars.map((v) => v.size);
  const n = packedLength(vars);
  const buffer = new Float32Array(n + vars.length);
  const views = unpackViews(packTensors(local.grads));
  let at = 0;
  vars.forEach((_, i) => {
    const g = views[i];
    if (g) {
      for (let e = 0; e < g.length; e++) buffer[at + e] = Math.fround(g[e] * weight);
      buffer[n + i] = 1;
    }
    at += sizes[i];
  });
  tf.dispose(local.grads.filter((g): g is tf.Tensor => g !== undefined));
  const keys = Object.keys(local.losses).sort();
  const lossBuf = new Float64Array([mine.length, ...keys.map((k) => local.losses[k] * mine.length)]);
  const t0 = process.hrtime.bigint();
  comm.allreduceSum(buffer);
  comm.allreduceSum(lossBuf);
  const allreduceSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  at = 0;
  const grads = vars.map((v, i) => {
    const o = at;
    at += sizes[i];
    return buffer[n + i] ? tf.tensor(buffer.subarray(o, o + v.size), v.shape) : undefined;
  });
  const losses = Object.fromEntries(keys.map((k, j) => [k, lossBuf[1 + j] / lossBuf[0]]));
  return { losses, grads, allreduceSeconds };
}
