/**
 * The training loop: per step, forward + loss under the gradient tape,
 * backward, clip, optimizer update (train/step.ts); the LR comes from the
 * schedule as a pure function of the iteration. Hooks do everything else.
 * A non-finite loss stops training with the loss terms in the message, before
 * the update touches the weights; the last checkpoint on disk stays good.
 */
import { tf } from '../engine/tf';
import type { Detector } from '../detectors/detector';
import type { Batch, DataLoader } from '../data/loader';
import { lrAt, ScheduleOptions } from './schedule';
import { applyGrads, StepResult, trainStep } from './step';
import { DataParallel } from './data_parallel';
import { broadcastState, distributedGrads } from './distributed';
import type { Communicator } from './communicator';
import { backendInfo } from '../backend/init_backend';
import { gpuFault, gpuFaultAfterError } from '../backend/webgpu';
import type { ModelConfig } from '../detectors/build';
import type { Hook, TrainContext } from './hooks';
import type { Optimizer } from './optimizer';
import type { TrainState } from './checkpoint';

export class NonFiniteLossError extends Error {
  constructor(readonly losses: Record<string, number>, readonly iter: number, readonly gradNorm?: number) {
    super(`non-finite loss at iteration ${iter}: ${JSON.stringify(losses)}, gradient norm ${gradNorm}; training stopped before updating the weights (the last checkpoint is intact). Lower the learning rate or check the data.`);
    this.name = 'NonFiniteLossError';
  }
}

/** The GPU device was lost or ran out of memory (WebGPU reports both asynchronously; see backend/webgpu.ts). */
export class GpuFaultError extends Error {
  constructor(readonly fault: string, readonly iter: number, shape: number[]) {
    const [n, h, w] = shape;
    super(/out of GPU memory/.test(fault)
      ? `${fault} at iteration ${iter}, batch of ${n} at ${w}×${h}: lower train.batchSize (the learning rate scales with it) or the input size (data.resize). The last checkpoint is intact: --resume continues from it.`
      : `${fault} at iteration ${iter}; training stopped. Checkpoints are written atomically, so the last one is intact: run the same command with --resume to continue.`);
    this.name = 'GpuFaultError';
  }
}

export interface TrainerOptions {
  model: Detector;
  loader: DataLoader;
  optimizer: Optimizer;
  schedule: Omit<ScheduleOptions, 'itersPerEpoch'>;
  epochs: number;
  gradClip?: number;
  workDir: string;
  hooks: Hook[];
  config: unknown;
  /** Resume point: epochs and batches done, iterations done, hook states. */
  resume?: TrainState;
  /** Data-parallel replicas (worker threads) on the single-threaded wasm/cpu backends; needs `modelConfig`. */
  workers?: number;
  modelConfig?: ModelConfig;
  /** The processes training together (`--launcher mpi`); one process when absent. */
  comm?: Communicator;
}

export class Trainer {
  readonly ctx: TrainContext;

  constructor(private readonly o: TrainerOptions) {
    const self = this;
    this.ctx = {
      model: o.model, optimizer: o.optimizer, workDir: o.workDir,
      epoch: o.resume?.epoch ?? 0, batchInEpoch: o.resume?.batchInEpoch ?? 0, iter: o.resume?.iter ?? 0,
      epochs: o.epochs, itersPerEpoch: o.loader.length, lr: 0, stopRequested: false,
      snapshot(): TrainState {
        const hooks: Record<string, unknown> = {};
        for (const h of o.hooks) if (h.state) hooks[h.name] = h.state();
        return { epoch: self.ctx.epoch, batchInEpoch: self.ctx.batchInEpoch, iter: self.ctx.iter, config: o.config, labels: o.loader.dataset.labels, hooks };
      },
    };
    for (const h of o.hooks) {
      const s = o.resume?.hooks?.[h.name];
      if (s && h.restore) h.restore(s as Record<string, unknown>);
    }
  }

  /**
   * One step's losses and gradient norm: the replicas' averaged gradients on
   * wasm/cpu, else one step on this thread with one asynchronous read.
   */
  private async step(dp: DataParallel | undefined, batch: Batch, vars: tf.Variable[]): Promise<StepResult> {
    let r: StepResult;
    try {
      r = await this.stepOn(dp, batch, vars);
    } catch (e) {
      const fault = await gpuFaultAfterError();
      throw fault ? new GpuFaultError(fault, this.ctx.iter, batch.shape) : e;
    }
    const fault = gpuFault();
    if (fault) throw new GpuFaultError(fault, this.ctx.iter, batch.shape);
    return r;
  }

  private async stepOn(dp: DataParallel | undefined, batch: Batch, vars: tf.Variable[]): Promise<StepResult> {
    const { model, optimizer, comm } = this.o;
    if (comm && comm.size > 1) {
      const g = await distributedGrads(comm, dp, model, vars, batch);
      return { losses: g.losses, gradNorm: await applyGrads(vars, g.grads, g.losses.loss, optimizer, this.o.gradClip), allreduceSeconds: g.allreduceSeconds };
    }
    if (dp && batch.shape[0] > 1) {
      const g = await dp.grads(model, vars, batch);
      return { losses: g.losses, gradNorm: await applyGrads(vars, g.grads, g.losses.loss, optimizer, this.o.gradClip) };
    }
    const x = tf.tensor4d(batch.images, batch.shape);
    try {
      await model.prepareLoss(x, batch.targets);
      return await trainStep(() => model.loss(model.forward(x), batch.targets), vars, optimizer, this.o.gradClip);
    } finally {
      x.dispose();
    }
  }

  /** Trains until `epochs` are done or a hook requests a stop. */
  async run(): Promise<void> {
    const { model, loader, optimizer, hooks } = this.o;
    const c = this.ctx;
    const sched: ScheduleOptions = { ...this.o.schedule, itersPerEpoch: loader.length, epochs: this.o.epochs };
    const vars = model.trainableVariables();
    let error: unknown;
    let dp: DataParallel | undefined;
    try {
      const workers = this.o.workers ?? 1;
      // Replicas share out the CPU cores; a GPU backend runs one replica on its device.
      const cpuBackend = ['wasm', 'cpu'].includes(backendInfo().name);
      if (workers > 1 && this.o.modelConfig && cpuBackend) dp = await DataParallel.start(workers, backendInfo().name, this.o.modelConfig);
      // Every rank starts from rank 0's weights (pretrained or resumed) and optimizer state.
      if (this.o.comm) broadcastState(this.o.comm, model, optimizer);
      for (const h of hooks) await h.beforeTrain?.(c);
      model.train();
      while (c.epoch < this.o.epochs && !c.stopRequested) {
        for await (const batch of loader.stream(c.epoch, c.batchInEpoch)) {
          const t0 = process.hrtime.bigint();
          c.lr = lrAt(sched, c.iter, c.epoch);
          optimizer.lr = c.lr;
          const r = await this.step(dp, batch, vars);
          if (!Number.isFinite(r.losses.loss) || !Number.isFinite(r.gradNorm)) throw new NonFiniteLossError(r.losses, c.iter, r.gradNorm);
          c.iter++;
          c.batchInEpoch++;
          const m = { losses: r.losses, gradNorm: r.gradNorm, lr: c.lr, images: batch.shape[0], seconds: Number(process.hrtime.bigint() - t0) / 1e9, allreduceSeconds: r.allreduceSeconds };
          for (const h of hooks) await h.afterStep?.(c, m);
          if (c.stopRequested) break;
        }
        if (c.stopRequested) break;
        c.epoch++;
        c.batchInEpoch = 0;
        for (const h of hooks) await h.afterEpoch?.(c);
      }
    } catch (e) {
      error = e;
    } finally {
      await dp?.stop();
      await loader.close();
      for (const h of hooks) await h.afterTrain?.(c, error);
    }
    if (error) throw error;
  }
}
