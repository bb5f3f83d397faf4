import { writeFileAtomic } from '../util/atomic_write';
import { cocoEvaluateFiles } from '../eval/coco_result';
import { perCategoryTable } from '../eval/coco_summary';

export interface CocoevalArgs { gt: string; dt: string; useCats: boolean; json?: string }

/** `ghostdet cocoeval`: no backend is loaded, so no backend line is printed. */
export async function runCocoeval(a: CocoevalArgs): Promise<void> {
  const t0 = Date.now();
  const r = cocoEvaluateFiles(a.gt, a.dt, a.useCats);
  for (const w of r.warnings) console.error(`warning: ${w}`);
  console.log(r.lines.join('\n'));
  if (a.useCats) {
    console.log('\nPer-category AP@[.50:.95] (area all, maxDets 100):');
    console.log(perCategoryTable(new Map(Object.entries(r.perCategoryAP).map(([k, v]) => [Number(k), v])), r.categoryNames).join('\n'));
  }
  if (a.json) {
    writeFileAtomic(a.json, JSON.stringify({ stats: r.stats, perCategoryAP: r.perCategoryAP }, null, 2) + '\n');
    console.error(`wrote ${a.json}`);
  }
  console.error(`evaluated in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
}
