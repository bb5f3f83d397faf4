/**
 * Saves `last.safetensors` every N epochs and when training is interrupted
 * (Ctrl-C: mid-epoch, resumable to the batch), and `best.safetensors` when the
 * evaluation hook reports a new best. Never after a failed step: a NaN leaves
 * the previous good checkpoint in place.
 */
import * as path from 'path';
import { saveCheckpoint } from './checkpoint';
import type { EvalHook } from './eval_hook';
import type { Ema } from './ema';
import type { Hook, TrainContext } from './hooks';
import { GpuFaultError, NonFiniteLossError } from './trainer';

export class CheckpointHook implements Hook {
  readonly name = 'checkpoint';
  private onSigint?: () => void;

  constructor(private readonly every: number, private readonly evalHook?: EvalHook, private readonly print: (s: string) => void = (s) => console.error(s), private readonly ema?: Ema) {}

  private async save(c: TrainContext, name: string): Promise<string> {
    const file = path.join(c.workDir, name);
    await saveCheckpoint(file, c.model, c.optimizer, { ...c.snapshot(), best: this.evalHook?.best }, this.ema);
    return file;
  }

  beforeTrain(c: TrainContext): void {
    this.onSigint = (): void => {
      if (c.stopRequested) process.exit(130);
      this.print('\ninterrupt: finishing this step, saving last.safetensors (Ctrl-C again to quit at once)');
      c.stopRequested = true;
    };
    process.on('SIGINT', this.onSigint);
  }

  async afterEpoch(c: TrainContext): Promise<void> {
    if (c.epoch % this.every === 0 || c.epoch === c.epochs) await this.save(c, 'last.safetensors');
    if (this.evalHook?.improved) this.print(`new best: ${await this.save(c, 'best.safetensors')}`);
  }

  async afterTrain(c: TrainContext, err?: unknown): Promise<void> {
    if (this.onSigint) process.off('SIGINT', this.onSigint);
    if (c.stopRequested && !(err instanceof NonFiniteLossError || err instanceof GpuFaultError)) this.print(`saved ${await this.save(c, 'last.safetensors')} (resume with --resume)`);
  }
}
