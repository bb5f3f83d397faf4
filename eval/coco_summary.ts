/** pycocotools' printed summary, character for character. */
import type { CocoEval } from './coco_eval';

/**
 * Python's '{:0.3f}': like toFixed(3) except exact binary ties (x = j/16, j odd),
 * which Python rounds half-to-even and JavaScript rounds up.
 */
export function pyFixed3(x: number): string {
  const sixteenths = x * 16;
  if (Number.isInteger(sixteenths) && Math.abs(sixteenths) % 2 === 1) {
    const scaled = x * 1000; // exact: j/16·1000 = j·62.5
    let r = Math.floor(scaled);
    if (scaled - r === 0.5 && r % 2 !== 0) r += 1;
    return (r / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

const ROWS: Array<[boolean, number | undefined, string, number]> = [
  [true, undefined, 'all', 2], [true, 0.5, 'all', 2], [true, 0.75, 'all', 2],
  [true, undefined, 'small', 2], [true, undefined, 'medium', 2], [true, undefined, 'large', 2],
  [false, undefined, 'all', 0], [false, undefined, 'all', 1], [false, undefined, 'all', 2],
  [false, undefined, 'small', 2], [false, undefined, 'medium', 2], [false, undefined, 'large', 2],
];

/** The 12 lines `COCOeval.summarize()` prints, given the stats it computed. */
export function summaryLines(ev: CocoEval, stats: number[]): string[] {
  const p = ev.params;
  const fmt2 = (v: number): string => v.toFixed(2);
  return ROWS.map(([ap, iouThr, area, mIdx], i) => {
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = ap ? '(AP)' : '(AR)';
    const iou = (iouThr === undefined ? `${fmt2(p.iouThrs[0])}:${fmt2(p.iouThrs[p.iouThrs.length - 1])}` : fmt2(iouThr)).padEnd(9);
    const maxDets = String(p.maxDets[mIdx] ?? p.maxDets[p.maxDets.length - 1]).padStart(3);
    return ` ${title} ${type} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${maxDets} ] = ${pyFixed3(stats[i])}`;
  });
}

/** A per-category AP table: id, name, AP (×100, one decimal), sorted by id. */
export function perCategoryTable(ap: Map<number, number>, names: Map<number, string>): string[] {
  const width = Math.max(8, ...[...names.values()].map((n) => n.length));
  const lines = [`${'id'.padStart(4)}  ${'category'.padEnd(width)}  AP`];
  for (const [id, v] of [...ap.entries()].sort((a, b) => a[0] - b[0])) {
    lines.push(`${String(id).padStart(4)}  ${(names.get(id) ?? '?').padEnd(width)}  ${v < 0 ? '  n/a' : (100 * v).toFixed(1).padStart(5)}`);
  }
  return lines;
}
