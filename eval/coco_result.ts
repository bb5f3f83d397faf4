/** One call from files (or parsed JSON) to stats: what `ghostdet cocoeval`, `ghostdet eval` and the trainer use. */
import { loadGroundTruth, loadResults, GroundTruth } from './coco_data';
import { readJson } from '../data/coco_json';
import { CocoEval } from './coco_eval';
import { summaryLines } from './coco_summary';

export interface CocoResult {
  /** The 12 standard numbers in pycocotools' order. */
  stats: number[];
  /** Category id → AP@[.50:.95] (−1 where the category has no ground truth). */
  perCategoryAP: Record<string, number>;
  /** pycocotools' printed summary lines. */
  lines: string[];
  warnings: string[];
  categoryNames: Map<number, string>;
}

export interface CocoEvalInput {
  gt: unknown | GroundTruth;
  dt: unknown;
  gtFile?: string;
  dtFile?: string;
  useCats?: boolean;
  imgIds?: number[];
}

function isLoaded(v: unknown): v is GroundTruth {
  return typeof v === 'object' && v !== null && (v as GroundTruth).imageSet instanceof Set;
}

/** Evaluates parsed ground truth (raw COCO json or already loaded) against a parsed results list. */
export function cocoEvaluate(input: CocoEvalInput): CocoResult {
  const warnings: string[] = [];
  const gt = isLoaded(input.gt) ? input.gt : loadGroundTruth(input.gt, input.gtFile ?? 'ground truth');
  const dt = loadResults(input.dt, gt, input.dtFile ?? 'results', { warn: (m) => warnings.push(m) });
  const ev = new CocoEval(gt, dt, { useCats: input.useCats ?? true, ...(input.imgIds ? { imgIds: input.imgIds } : {}) });
  ev.evaluate();
  ev.accumulate();
  const stats = ev.stats();
  const perCategoryAP: Record<string, number> = {};
  for (const [id, ap] of ev.perCategoryAP()) perCategoryAP[String(id)] = ap;
  return { stats, perCategoryAP, lines: summaryLines(ev, stats), warnings, categoryNames: new Map(gt.categories.map((c) => [c.id, c.name])) };
}

/** Reads both files and evaluates; errors name the file and record. */
export function cocoEvaluateFiles(gtFile: string, dtFile: string, useCats = true): CocoResult {
  return cocoEvaluate({ gt: readJson(gtFile), dt: readJson(dtFile), gtFile, dtFile, useCats });
}
