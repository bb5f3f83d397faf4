/** Updates the weight EMA after every step (train/ema.ts); evaluation and checkpoints read it from here. */
import type { Ema } from './ema';
import type { Hook } from './hooks';

export class EmaHook implements Hook {
  readonly name = 'ema';

  constructor(readonly ema: Ema) {}

  afterStep(): void {
    this.ema.update();
  }
}
