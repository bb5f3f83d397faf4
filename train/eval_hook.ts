/** Evaluation every N epochs (and at the end): COCO stats on the val split, logged; tracks the best mAP. */
import type { DataLoader } from '../data/loader';
import { evaluateModel, evaluateShard, Evaluation } from '../eval/evaluate_model';
import type { Detector } from '../detectors/detector';
import { Communicator, SingleProcess } from './communicator';
import { packTensors, unpackInto } from './flat_tensors';
import type { Hook, TrainContext } from './hooks';
import type { JsonLogHook } from './log_hook';
import type { Ema } from './ema';

export class EvalHook implements Hook {
  readonly name = 'eval';
  best?: { metric: string; value: number; epoch: number };
  /** Set after each evaluation: whether it beat the previous best. */
  improved = false;
  lastStats?: number[];
  lastEvalEpoch = -1;

  /** With `ema`, the averaged weights are evaluated (and tracked as best). */
  constructor(private readonly loader: DataLoader, private readonly every: number, private readonly log?: JsonLogHook, private readonly print: (s: string) => void = (s) => console.error(s), private readonly ema?: Ema,
    private readonly comm: Communicator = new SingleProcess()) {}

  /** The COCO stats on rank 0 (logged and printed there); undefined on the other ranks, which only predict their share. */
  async evaluate(c: TrainContext): Promise<number[] | undefined> {
    const r = this.comm.size > 1 ? await this.evaluateTogether(c.model)
      : this.ema ? await this.ema.withAveragedAsync(() => evaluateModel(c.model, this.loader)) : await evaluateModel(c.model, this.loader);
    if (!r) return undefined;
    this.lastStats = r.stats;
    this.lastEvalEpoch = c.epoch;
    const mAP = r.stats[0];
    this.improved = !this.best || mAP > this.best.value;
    if (this.improved) this.best = { metric: 'bbox_mAP', value: mAP, epoch: c.epoch };
    this.print(`evaluation after epoch ${c.epoch}: bbox mAP ${mAP.toFixed(4)} (AP50 ${r.stats[1].toFixed(4)}, AP75 ${r.stats[2].toFixed(4)}), best ${this.best!.value.toFixed(4)} at epoch ${this.best!.epoch}`);
    if (r.skippedImages.length) this.print(`  ${r.skippedImages.length} val image(s) could not be decoded and were left out of the evaluation: ids ${r.skippedImages.join(', ')}`);
    this.log?.write({ mode: 'val', epoch: c.epoch, iter: c.iter, bbox_mAP: mAP, stats: r.stats, skipped_images: r.skippedImages.length });
    return r.stats;
  }

  /**
   * Every rank predicts its share of the val batches with rank 0's weights
   * (averaged when there is a weight average, with rank 0's BatchNorm
   * statistics), then takes its own back; rank 0 scores them all.
   */
  private async evaluateTogether(model: Detector): Promise<Evaluation | undefined> {
    const vars = model.namedTensors().map((t) => t.variable);
    const run = async (): Promise<Evaluation | undefined> => {
      const own = this.comm.rank === 0 ? undefined : packTensors(vars);
      const lead = packTensors(vars);
      this.comm.broadcast(lead.flat, 0);
      if (own) unpackInto(vars, lead);
      try {
        return await evaluateShard(model, this.loader, this.comm);
      } finally {
        if (own) unpackInto(vars, own);
      }
    };
    return this.comm.rank === 0 && this.ema ? this.ema.withAveragedAsync(run) : run();
  }

  async afterEpoch(c: TrainContext): Promise<void> {
    this.improved = false;
    if (c.epoch % this.every === 0 || c.epoch === c.epochs) await this.evaluate(c);
  }

  state(): Record<string, unknown> {
    return { best: this.best };
  }

  restore(s: Record<string, unknown>): void {
    this.best = s.best as EvalHook['best'];
  }
}
