/**
 * YOLOX's last `l1LastEpochs` epochs ("no-augmentation" epochs, as
 * mmdetection's `YOLOXModeSwitchHook`): the L1 box loss on, mosaic and
 * random affine off. Runs before every epoch, so a resumed run lands in
 * the right mode.
 */
import type { Hook, TrainContext } from './hooks';
import type { DataLoader } from '../data/loader';

export class ModeSwitchHook implements Hook {
  readonly name = 'mode_switch';

  /** @param loader its mosaic / affine augmentation is switched off in the same epochs. */
  constructor(private readonly l1LastEpochs: number, private readonly print: (s: string) => void = (s) => console.error(s), private readonly loader?: DataLoader) {}

  private apply(c: TrainContext): void {
    const on = this.l1LastEpochs > 0 && c.epoch >= c.epochs - this.l1LastEpochs;
    if (on && !c.model.trainFlags.l1) this.print(`epoch ${c.epoch + 1}: L1 box loss on${this.loader?.o.mosaic ? ', mosaic and affine off' : ''} for the last ${this.l1LastEpochs} epoch(s)`);
    c.model.trainFlags.l1 = on;
    if (this.loader) this.loader.augment = !on;
  }

  beforeTrain(c: TrainContext): void {
    this.apply(c);
  }

  afterEpoch(c: TrainContext): void {
    if (c.epoch < c.epochs) this.apply(c);
  }
}
