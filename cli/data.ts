/** `ghostdet data synth` and `ghostdet data check`. */
import * as path from 'path';
import { synthesize } from '../data/synthetic';
import { readInstancesForBoxes } from '../data/instances_reader';
import { formatReport, validateCocoParallel } from '../data/validate';
import { defaultWorkers } from '../data/image_check_pool';
import { writeFileAtomic } from '../util/atomic_write';
import { progressBar } from '../util/progress_bar';

export function runSynth(a: { out: string; images: number; size: number; seed: number; val: number }): void {
  const t0 = Date.now();
  const r = synthesize({ out: a.out, images: a.images, val: a.val, size: a.size, seed: a.seed });
  console.log(`wrote ${a.images} train and ${a.val} val images (${a.size}px, seed ${a.seed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s:\n  ${r.train}\n  ${r.val}`);
}

/** Exit code 1 only when the dataset cannot be used at all. */
export async function runCheck(a: { ann: string; images: string; json?: string; headersOnly: boolean; workers?: number; maxImagePixels?: number }): Promise<void> {
  const mode = a.headersOnly ? 'header' : 'decode';
  const workers = a.workers ?? defaultWorkers();
  const t0 = Date.now();
  const json = readInstancesForBoxes(a.ann);
  let bar: ReturnType<typeof progressBar> | undefined;
  const v = await validateCocoParallel(json, a.ann, {
    imagesDir: path.resolve(a.images), checkFiles: mode, workers, maxImagePixels: a.maxImagePixels,
    onProgress: (done, total) => (bar ??= progressBar(mode === 'decode' ? 'decoding' : 'reading headers', total)).update(done),
  });
  bar?.stop();
  const s = (Date.now() - t0) / 1000;
  console.log(formatReport(v.report));
  console.log(`checked ${v.report.images} images (${mode === 'decode' ? 'decoded' : 'headers only'}, ${workers} worker${workers === 1 ? '' : 's'}) in ${s.toFixed(1)} s`);
  if (a.json) writeFileAtomic(a.json, JSON.stringify(v.report, null, 2) + '\n');
  if (v.report.fatal) process.exitCode = 1;
}
