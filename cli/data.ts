/** `ghostdet data synth` and `ghostdet data check`. */
import * as path from 'path';
import { synthesize } from '../data/synthetic';
import { readJson } from '../eval/coco_data';
import { formatReport, validateCoco } from '../data/validate';
import { writeFileAtomic } from '../runtime/atomic_write';

export function runSynth(a: { out: string; images: number; size: number; seed: number; val: number }): void {
  const t0 = Date.now();
  const r = synthesize({ out: a.out, images: a.images, val: a.val, size: a.size, seed: a.seed });
  console.log(`wrote ${a.images} train and ${a.val} val images (${a.size}px, seed ${a.seed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s:\n  ${r.train}\n  ${r.val}`);
}

/** Exit code 1 only when the dataset cannot be used at all. */
export function runCheck(a: { ann: string; images: string; json?: string; decode: boolean }): void {
  const v = validateCoco(readJson(a.ann), a.ann, { imagesDir: path.resolve(a.images), checkFiles: a.decode ? 'decode' : 'header' });
  console.log(formatReport(v.report));
  if (a.json) writeFileAtomic(a.json, JSON.stringify(v.report, null, 2) + '\n');
  if (v.report.fatal) process.exitCode = 1;
}
