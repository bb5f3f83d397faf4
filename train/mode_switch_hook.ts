/**
 * Switches on YOLOX's L1 box loss for the last `l1LastEpochs` epochs (YOLOX's
 * "no-augmentation" epochs; mmdetection's `YOLOXModeSwitchHook` sets
 * `use_l1` the same way). Runs before every epoch, so a resumed run lands in
 * the right mode.
 */
import type { Hook, TrainContext } from './hooks';

export class ModeSwitchHook implements Hook {
  readonly name = 'mode_switch';

  constructor(private readonly l1LastEpochs: number, private readonly print: (s: string) => void = (s) => console.error(s)) {}

  private apply(c: TrainContext): void {
    const on = this.l1LastEpochs > 0 && c.epoch >= c.epochs - this.l1LastEpochs;
    if (on && !c.model.trainFlags.l1) this.print(`epoch ${c.epoch + 1}: switching on the L1 box loss for the last ${this.l1LastEpochs} epoch(s)`);
    c.model.trainFlags.l1 = on;
  }

  beforeTrain(c: TrainContext): void {
    this.apply(c);
  }

  afterEpoch(c: TrainContext): void {
    if (c.epoch < c.epochs) this.apply(c);
  }
}
