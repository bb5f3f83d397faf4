/**
 * One line and one log record per epoch: time, throughput and the images that
 * could not be decoded (skipped, named; the loader stops the run past its
 * allowed fraction).
 */
import type { DataLoader } from '../data/loader';
import type { Hook, StepMetrics, TrainContext } from './hooks';
import type { JsonLogHook } from './log_hook';

export class EpochSummaryHook implements Hook {
  readonly name = 'epoch_summary';
  private t0 = Date.now();
  private images = 0;

  constructor(private readonly loader: DataLoader, private readonly log: JsonLogHook, private readonly print: (s: string) => void) {}

  beforeTrain(): void {
    this.t0 = Date.now();
  }

  afterStep(_c: TrainContext, m: StepMetrics): void {
    this.images += m.images;
  }

  afterEpoch(c: TrainContext): void {
    const seconds = (Date.now() - this.t0) / 1000;
    const bad = [...this.loader.badImages.values()];
    this.print(`epoch ${c.epoch}/${c.epochs} done: ${this.images} images in ${(seconds / 60).toFixed(1)} min (${(this.images / seconds).toFixed(1)} img/s), ` +
      `${bad.length ? `${bad.length} image(s) skipped (could not be decoded): ${bad.map((b) => b.file).join(', ')}` : 'no bad images'}`);
    this.log.write({ mode: 'epoch', epoch: c.epoch, iter: c.iter, images: this.images, seconds: +seconds.toFixed(2), bad_images: bad.length, bad_files: bad.map((b) => b.file) });
    this.t0 = Date.now();
    this.images = 0;
  }
}
