/** JSON-lines log (`<workDir>/log.jsonl`): one object per logged step and per evaluation, for dashboards. */
import * as fs from 'fs';
import * as path from 'path';
import type { Hook, StepMetrics, TrainContext } from './hooks';

export interface LogRecord { [k: string]: unknown }

export class JsonLogHook implements Hook {
  readonly name = 'log';
  readonly file: string;
  /** Every record written this run, for the curve plot. */
  readonly records: LogRecord[] = [];

  constructor(workDir: string, private readonly every = 20) {
    this.file = path.join(workDir, 'log.jsonl');
    fs.mkdirSync(workDir, { recursive: true });
  }

  write(r: LogRecord): void {
    this.records.push(r);
    fs.appendFileSync(this.file, JSON.stringify(r) + '\n');
  }

  afterStep(c: TrainContext, m: StepMetrics): void {
    if (c.iter % this.every === 0 || c.batchInEpoch === c.itersPerEpoch) {
      this.write({ mode: 'train', epoch: c.epoch + 1, iter: c.iter, lr: m.lr, ...m.losses, grad_norm: m.gradNorm, time: m.seconds, ...(m.allreduceSeconds !== undefined ? { allreduce_time: m.allreduceSeconds } : {}), ts: new Date().toISOString() });
    }
  }
}
