/**
 * Data-parallel gradients over worker threads. XNNPACK threads speed up only
 * the convolutions and matmuls; replicas also run the JS kernels (norms,
 * im2col) and the tape in parallel, so on 2 cores two single-threaded replicas
 * train faster than one replica with two threads (`npm run bench:train`
 * measures both). Each step the batch is split by images, the workers get
 * the current weights (in shared memory) and their share, the main thread
 * computes its own share meanwhile, and the gradients (shared memory too)
 * are averaged (as DDP averages per-GPU gradients).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { tf } from '../engine/tf';
import { backendInfo } from '../backend/init_backend';
import type { BackendName } from '../backend/init_backend';
import type { ModelConfig } from '../detectors/build';
import type { Detector } from '../detectors/detector';
import type { Batch } from '../data/loader';
import type { WorkerReply, WorkerStep } from './grad_worker';
import { computeGrads, Gradients } from './step';
import { weightedSumsInPlace, SumTerm } from '../kernels/weighted_sum';
import { offsetsOf, packedLength, packTensors } from './flat_tensors';

export class DataParallel {
  private readonly workers: Worker[] = [];
  private weightsBuffer?: Float32Array;
  private gradBuffers: Float32Array[] = [];
  /** Each worker's tensor count after its second step: it must not grow. */
  private readonly baseline: number[] = [];
  private steps = 0;

  private constructor() {}

  /** Starts `n − 1` worker replicas of the model (the main thread is replica 0). */
  static async start(n: number, backend: BackendName, model: ModelConfig): Promise<DataParallel> {
    const dp = new DataParallel();
    for (let i = 1; i < n; i++) {
      const w = new Worker(path.join(__dirname, 'grad_worker.js'));
      dp.workers.push(w);
      await dp.call(w, { type: 'init', backend, model, threads: mainThreads() });
    }
    return dp;
  }

  get replicas(): number {
    return this.workers.length + 1;
  }

  /**
   * The weights buffer every worker reads and one gradient buffer per
   * worker, shared memory made once: a fresh 7 MB buffer each way each step
   * made V8 run a full GC in every isolate every iteration (external memory
   * pressure), 10–30 ms of pauses and marking an iteration. The main replica
   * writes the weights only while no worker runs, and reads a worker's
   * gradients before sending it the next step.
   */
  private sharedBuffers(length: number): Float32Array {
    if (!this.weightsBuffer || this.weightsBuffer.length < length) {
      this.weightsBuffer = new Float32Array(new SharedArrayBuffer(length * 4));
      // Gradients cover at most every tensor.
      this.gradBuffers = this.workers.map(() => new Float32Array(new SharedArrayBuffer(length * 4)));
    }
    return this.weightsBuffer;
  }

  private call(w: Worker, msg: unknown, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const onMsg = (r: WorkerReply): void => {
        w.off('error', onErr);
        if (r.type === 'error') reject(new Error(`gradient worker: ${r.message}`)); else resolve(r);
      };
      const onErr = (e: Error): void => {
        w.off('message', onMsg);
        reject(e);
      };
      w.once('message', onMsg);
      w.once('error', onErr);
      w.postMessage(msg, transfer);
    });
  }

  /** Splits a batch by images into `parts` shares (earlier shares get the remainder); empty shares are left out. */
  static split(b: Batch, parts: number): Batch[] {
    return DataParallel.splitAll(b, parts).filter((s): s is Batch => s !== undefined);
  }

  /** The `parts` shares of `split`, undefined where a share is empty (ranks find theirs by position). */
  static splitAll(b: Batch, parts: number): Array<Batch | undefined> {
    const [n, h, w, c] = b.shape;
    const per = h * w * c;
    const out: Array<Batch | undefined> = [];
    let start = 0;
    for (let i = 0; i < parts; i++) {
      const k = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
      if (!k) {
        out.push(undefined);
        continue;
      }
      out.push({
        images: b.images.subarray(start * per, (start + k) * per), shape: [k, h, w, c],
        targets: b.targets.slice(start, start + k), metas: b.metas.slice(start, start + k), indices: b.indices.slice(start, start + k),
      });
      start += k;
    }
    return out;
  }

  /** Gradients of the batch averaged over replicas (losses averaged too), aligned with `vars`. */
  async grads(model: Detector, vars: tf.Variable[], batch: Batch): Promise<Gradients> {
    return this.gradsOfShares(model, vars, DataParallel.split(batch, this.replicas));
  }

  /** Mean gradients and losses of these shares (at most one per replica; the first on this thread). */
  async gradsOfShares(model: Detector, vars: tf.Variable[], shares: Batch[]): Promise<Gradients> {
    if (shares.length > this.replicas) throw new Error(`${shares.length} shares for ${this.replicas} replicas`);
    const tensors = model.namedTensors().map((t) => t.variable);
    const weights = packTensors(tensors, this.sharedBuffers(packedLength(tensors)));
    const pending = shares.slice(1).map((s, i) => {
      const msg: WorkerStep = {
        type: 'step', weights, gradsInto: this.gradBuffers[i], images: s.images.slice(), shape: s.shape, targets: s.targets, flags: model.trainFlags,
      };
      return this.call(this.workers[i], msg, [msg.images.buffer as ArrayBuffer]);
    });
    const own = shares[0];
    const mine = await computeGrads(() => model.loss(model.forward(tf.tensor4d(own.images, own.shape)), own.targets), vars);
    const replies = (await Promise.all(pending)) as Array<Extract<WorkerReply, { type: 'grads' }>>;
    this.steps++;
    replies.forEach((r, i) => {
      if (this.steps === 2) this.baseline[i] = r.numTensors;
      if (this.steps > 2 && r.numTensors > this.baseline[i]) {
        throw new Error(`tensor leak in gradient worker ${i + 1}: ${r.numTensors - this.baseline[i]} tensors more than after step 2; this is a ghostdet bug, please report it`);
      }
    });
    const k = replies.length + 1;
    const losses: Record<string, number> = {};
    for (const key of Object.keys(mine.losses)) losses[key] = (mine.losses[key] + replies.reduce((s, r) => s + r.losses[key], 0)) / k;
    if (k === 1) return { losses, grads: mine.grads };
    // Each reply's gradients come as one flat tensor; a variable's mean reads its run of it.
    const flats = replies.map((r) => tf.tensor1d(r.grads.flat));
    const offsets = replies.map((r) => offsetsOf(r.grads.sizes));
    const grads: Array<tf.Tensor | undefined> = new Array(vars.length).fill(undefined);
    const full: number[] = [], groups: SumTerm[][] = [];
    vars.forEach((v, i) => {
      const own = mine.grads[i];
      const terms: SumTerm[] = [...(own ? [own] : []), ...flats.flatMap((flat, j) => (offsets[j][i] >= 0 ? [{ flat, offset: offsets[j][i] }] : []))];
      // Every replica has the same variables' gradients (same model, same code); anything else is summed as it comes.
      if (terms.length === k) {
        full.push(i);
        groups.push(terms);
      } else if (terms.length) grads[i] = partialMean(v, terms, k);
    });
    // The means written over this replica's own gradients where they own their data, else in one kernel call.
    weightedSumsInPlace(groups, new Array(k).fill(1 / k)).forEach((m, j) => { grads[full[j]] = m; });
    const kept = new Set(grads);
    tf.dispose([...flats, ...mine.grads.filter((g): g is tf.Tensor => g !== undefined && !kept.has(g))]);
    return { losses, grads };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** Σ terms / k where some replicas have no gradient for `v`. */
function partialMean(v: tf.Variable, terms: SumTerm[], k: number): tf.Tensor {
  return tf.tidy(() => tf.div(tf.addN(terms.map((t) => (t instanceof tf.Tensor ? t : tf.reshape(tf.slice(t.flat, t.offset, v.size), v.shape)))), k));
}

/** Each worker replica gets as many XNNPACK threads as the main one (its share of the cores). */
function mainThreads(): number {
  try {
    return backendInfo().threads ?? 1;
  } catch {
    return 1;
  }
}
