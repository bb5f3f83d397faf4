/**
 * Ground truth and detections for COCO bbox evaluation, loaded the way
 * pycocotools' `COCO` and `COCO.loadRes` load them, into flat typed arrays
 * (no per-box objects: 500k detections stay a few MB).
 *
 * Plain TypeScript, no tfjs: `ghostdet cocoeval` works without a backend.
 */
import { CocoFormatError } from '../data/coco_json';

/** Boxes in COCO xywh pixels, one entry per index. */
export interface BoxSet {
  x: Float64Array; y: Float64Array; w: Float64Array; h: Float64Array;
  /** Ground truth: the `area` field; detections: w·h (as loadRes sets it). */
  area: Float64Array;
  /** Annotation id (ground truth: from the file; detections: 1..N as loadRes assigns). */
  id: Float64Array;
  imageId: Float64Array;
  categoryId: Float64Array;
}

export interface GroundTruth extends BoxSet {
  iscrowd: Uint8Array;
  /** Image ids in file order and their declared sizes. */
  images: number[];
  imageSet: Set<number>;
  categories: Array<{ id: number; name: string; supercategory?: string }>;
  file: string;
}

export interface Detections extends BoxSet {
  score: Float64Array;
  /** Results whose category id is not in the ground truth (kept, as pycocotools keeps them; evaluation skips them). */
  unknownCategory: number;
  file: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(file: string, where: string, rec: Record<string, unknown>, key: string): number {
  const v = rec[key];
  if (v === undefined) throw new CocoFormatError(file, where, `missing required field "${key}"`);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CocoFormatError(file, where, `"${key}" must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function bbox(file: string, where: string, rec: Record<string, unknown>): [number, number, number, number] {
  const b = rec.bbox;
  if (b === undefined) throw new CocoFormatError(file, where, 'missing required field "bbox"');
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new CocoFormatError(file, where, `bbox must be 4 finite numbers [x, y, w, h], got ${JSON.stringify(b)}`);
  }
  if (b[2] < 0 || b[3] < 0) throw new CocoFormatError(file, where, `bbox has negative width or height: ${JSON.stringify(b)}`);
  return b as [number, number, number, number];
}

function allocBoxes(n: number): BoxSet {
  return {
    x: new Float64Array(n), y: new Float64Array(n), w: new Float64Array(n), h: new Float64Array(n),
    area: new Float64Array(n), id: new Float64Array(n), imageId: new Float64Array(n), categoryId: new Float64Array(n),
  };
}

function list(file: string, json: Record<string, unknown>, key: string): unknown[] {
  const v = json[key];
  if (!Array.isArray(v)) throw new CocoFormatError(file, 'top level', v === undefined ? `missing required field "${key}"` : `"${key}" must be a list`);
  return v;
}

/** Loads COCO instances (ground truth). `file` is used in messages. */
export function loadGroundTruth(json: unknown, file: string): GroundTruth {
  if (!isObject(json)) throw new CocoFormatError(file, 'top level', 'expected a JSON object with images, annotations, categories');
  const imagesRaw = list(file, json, 'images');
  const annsRaw = list(file, json, 'annotations');
  const catsRaw = list(file, json, 'categories');
  const images = imagesRaw.map((im, i) => {
    if (!isObject(im)) throw new CocoFormatError(file, `images[${i}]`, 'not an object');
    return num(file, `images[${i}]`, im, 'id');
  });
  const categories = catsRaw.map((c, i) => {
    if (!isObject(c)) throw new CocoFormatError(file, `categories[${i}]`, 'not an object');
    return { id: num(file, `categories[${i}]`, c, 'id'), name: String(c.name ?? c.id), supercategory: c.supercategory as string | undefined };
  });
  const gt: GroundTruth = {
    ...allocBoxes(annsRaw.length), iscrowd: new Uint8Array(annsRaw.length),
    images, imageSet: new Set(images), categories, file,
  };
  annsRaw.forEach((a, i) => {
    const where = `annotations[${i}]`;
    if (!isObject(a)) throw new CocoFormatError(file, where, 'not an object');
    const [x, y, w, h] = bbox(file, `${where} (id ${String(a.id)})`, a);
    gt.x[i] = x; gt.y[i] = y; gt.w[i] = w; gt.h[i] = h;
    gt.id[i] = num(file, where, a, 'id');
    gt.imageId[i] = num(file, where, a, 'image_id');
    gt.categoryId[i] = num(file, where, a, 'category_id');
    gt.area[i] = num(file, where, a, 'area');
    // pycocotools: ignore = 'iscrowd' in gt and gt['iscrowd'] (any `ignore` field is overwritten).
    gt.iscrowd[i] = a.iscrowd ? 1 : 0;
  });
  return gt;
}

export interface LoadResultsOptions {
  /** Called once with a summary when results name categories absent from the ground truth. */
  warn?: (msg: string) => void;
}

/**
 * Loads a results list like `COCO.loadRes`: area = w·h, ids 1..N in list
 * order. Results on images absent from the ground truth are refused (pycocotools
 * asserts); an empty list is accepted with a warning (pycocotools crashes on it).
 */
export function loadResults(json: unknown, gt: GroundTruth, file: string, opts: LoadResultsOptions = {}): Detections {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  if (!Array.isArray(json)) throw new CocoFormatError(file, 'top level', 'results must be a JSON list of {image_id, category_id, bbox, score}');
  const n = json.length;
  const dt: Detections = { ...allocBoxes(n), score: new Float64Array(n), unknownCategory: 0, file };
  if (n === 0) warn(`${file}: the results list is empty: every category with ground truth scores 0`);
  const cats = new Set(gt.categories.map((c) => c.id));
  const badImages: number[] = [];
  for (let i = 0; i < n; i++) {
    const r: unknown = json[i];
    const where = `result[${i}]`;
    if (!isObject(r)) throw new CocoFormatError(file, where, 'not an object');
    const [x, y, w, h] = bbox(file, where, r);
    dt.x[i] = x; dt.y[i] = y; dt.w[i] = w; dt.h[i] = h;
    dt.area[i] = w * h;
    dt.id[i] = i + 1;
    dt.imageId[i] = num(file, where, r, 'image_id');
    dt.categoryId[i] = num(file, where, r, 'category_id');
    dt.score[i] = num(file, where, r, 'score');
    if (!gt.imageSet.has(dt.imageId[i]) && badImages.length < 5) badImages.push(i);
    if (!cats.has(dt.categoryId[i])) dt.unknownCategory++;
  }
  if (badImages.length) {
    const ids = badImages.map((i) => `result[${i}] image_id ${dt.imageId[i]}`).join(', ');
    throw new CocoFormatError(file, ids, `results do not correspond to the ground truth ${gt.file}: image not in its images`);
  }
  if (dt.unknownCategory) warn(`${file}: ${dt.unknownCategory} result(s) name a category_id absent from the ground truth; they are ignored, as pycocotools ignores them`);
  return dt;
}
