/** Fails loudly when the tensor count grows step after step: a leak would otherwise end in an out-of-memory crash hours later. */
import { tf } from '../engine/tf';
import type { Hook, TrainContext } from './hooks';

export class LeakGuardHook implements Hook {
  readonly name = 'leakGuard';
  private baseline = -1;
  private steps = 0;

  constructor(private readonly warmupSteps = 3, private readonly window = 50) {}

  afterStep(c: TrainContext): void {
    this.steps++;
    const n = tf.memory().numTensors;
    if (this.steps === this.warmupSteps) this.baseline = n;
    if (this.baseline >= 0 && this.steps % this.window === 0 && n > this.baseline) {
      throw new Error(`tensor leak: ${n - this.baseline} tensors more than after step ${this.warmupSteps} (iteration ${c.iter}); this is a ghostdet bug, please report it`);
    }
  }
}
