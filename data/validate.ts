/**
 * COCO instances validation: every problem a user's dataset can have, grouped
 * by kind with counts and the first few record ids, and what happens to each
 * record (skipped, clipped, refused). The cleaned records it returns are the
 * only ones training ever sees: nothing bad is silently trained on.
 */
import * as path from 'path';
import { checkImageFile, FileCheckMode, FileCheckResult, ImageRecord } from './image_check';
import { DEFAULT_MAX_IMAGE_PIXELS, ImageLimits, isInside } from './image_file';
import { checkImagesParallel, CheckPoolOptions } from './image_check_pool';

export type ProblemKind =
  | 'missing_section' | 'not_a_list' | 'bad_record'
  | 'duplicate_image_id' | 'duplicate_file_name' | 'image_size_missing' | 'duplicate_annotation_id'
  | 'duplicate_category_id' | 'duplicate_category_name'
  | 'unknown_image' | 'unknown_category' | 'bad_bbox' | 'degenerate_bbox' | 'bbox_outside_image'
  | 'bad_iscrowd' | 'bad_area' | 'area_mismatch'
  | 'image_missing' | 'image_undecodable' | 'image_size_mismatch' | 'image_outside_root' | 'image_too_large' | 'no_images';

/** What happens to records with each problem. */
export const ACTION: Record<ProblemKind, string> = {
  missing_section: 'fatal: the file cannot be used',
  not_a_list: 'fatal: the file cannot be used',
  bad_record: 'skipped',
  duplicate_image_id: 'later duplicates skipped',
  duplicate_file_name: 'later duplicates and their annotations skipped (the same picture would train twice with different boxes)',
  image_size_missing: 'size read from the file; skipped when files are not checked (data.checkFiles none)',
  duplicate_annotation_id: 'kept (ids are not used for training)',
  duplicate_category_id: 'later duplicates skipped',
  duplicate_category_name: 'kept as separate classes (reports that go by name cannot tell them apart)',
  unknown_image: 'annotation skipped',
  unknown_category: 'annotation skipped',
  bad_bbox: 'annotation skipped',
  degenerate_bbox: 'annotation skipped',
  bbox_outside_image: 'box clipped to the image',
  bad_iscrowd: 'annotation skipped (neither a box to learn nor a region to ignore is certain)',
  bad_area: 'kept for training (it does not read area); evaluation needs a number here, as pycocotools, and files it as small when ≤ 0',
  area_mismatch: 'kept; evaluation files boxes into small/medium/large by area, as pycocotools, so this box is counted in the range its area says',
  image_missing: 'image and its annotations skipped',
  image_undecodable: 'image and its annotations skipped',
  image_size_mismatch: 'image and its annotations skipped',
  image_outside_root: 'image and its annotations skipped; the file is not opened (only files inside the images folder are read)',
  image_too_large: 'image and its annotations skipped before decoding (data.maxImagePixels raises the limit)',
  no_images: 'fatal: nothing left to train on',
};

const FATAL = new Set<ProblemKind>(['missing_section', 'not_a_list', 'no_images']);

export interface ProblemGroup {
  kind: ProblemKind;
  count: number;
  action: string;
  /** The first few records, e.g. `annotations[12] (id 4431): bbox [1, 2, 0, 5]`. */
  examples: string[];
}

export interface ValidationReport {
  file: string;
  images: number;
  annotations: number;
  categories: number;
  usableImages: number;
  usableAnnotations: number;
  problems: ProblemGroup[];
  /** True when training is impossible (the CLI exits non-zero). */
  fatal: boolean;
}

export interface CleanImage { id: number; file: string; width: number; height: number }
export interface CleanAnnotation { imageId: number; categoryId: number; bbox: [number, number, number, number]; iscrowd: boolean }
export interface CleanCategory { id: number; name: string }

export interface Validated {
  report: ValidationReport;
  images: CleanImage[];
  annotations: CleanAnnotation[];
  categories: CleanCategory[];
}

export interface ValidateOptions {
  /** Folder the `file_name`s are relative to. */
  imagesDir: string;
  /** `header`: read sizes from file headers (fast); `decode`: decode every image; `none`: trust the json. */
  checkFiles?: 'none' | FileCheckMode;
  /** Examples kept per problem kind (default 5). */
  examples?: number;
  /** Largest width × height of an image (default: Pillow's limit, about 89.5 Mpx). */
  maxImagePixels?: number;
}

/** The limits images of this dataset are read within: inside `imagesDir`, under the pixel cap. */
export function imageLimits(o: ValidateOptions): ImageLimits {
  return { root: path.resolve(o.imagesDir), maxPixels: o.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS };
}

/**
 * `area` is compared with the box's w·h. A polygon lies inside its box, so a
 * segmentation's area is at most w·h and often far less (a third of coco128's
 * annotations are under half): only area above 2·w·h, or below w·h / 2 with
 * no segmentation to explain it, is a disagreement.
 */
export const AREA_RATIO = 2;

class Problems {
  private groups = new Map<ProblemKind, ProblemGroup>();
  constructor(private readonly keep: number) {}

  add(kind: ProblemKind, example: string): void {
    let g = this.groups.get(kind);
    if (!g) this.groups.set(kind, (g = { kind, count: 0, action: ACTION[kind], examples: [] }));
    g.count++;
    if (g.examples.length < this.keep) g.examples.push(example);
  }

  list(): ProblemGroup[] {
    return [...this.groups.values()];
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The records after the checks that need no image file. */
interface Structure {
  file: string;
  rawImages: unknown[];
  rawAnns: unknown[];
  rawCats: unknown[];
  categories: CleanCategory[];
  catIds: Set<number>;
  /** Images kept so far; width/height 0 when the json lacks them. */
  imgById: Map<number, CleanImage>;
  /** Ids of every image record, kept or not: an annotation of a skipped image is not "unknown". */
  allImageIds: Set<number>;
}

function readCategories(rawCats: unknown[], p: Problems): { categories: CleanCategory[]; catIds: Set<number> } {
  const categories: CleanCategory[] = [];
  const catIds = new Set<number>();
  const byName = new Map<string, number>();
  rawCats.forEach((c, i) => {
    if (!isObj(c) || !isNum(c.id)) return p.add('bad_record', `categories[${i}]: needs a numeric id`);
    if (catIds.has(c.id)) return p.add('duplicate_category_id', `categories[${i}] (id ${c.id})`);
    catIds.add(c.id);
    const name = String(c.name ?? c.id);
    const first = byName.get(name);
    if (first !== undefined) p.add('duplicate_category_name', `categories[${i}] (id ${c.id}): name "${name}" is also category id ${first}'s`);
    else byName.set(name, c.id);
    categories.push({ id: c.id, name });
  });
  return { categories, catIds };
}

function readImages(rawImages: unknown[], imagesDir: string, p: Problems): { imgById: Map<number, CleanImage>; allImageIds: Set<number> } {
  const imgById = new Map<number, CleanImage>();
  const allImageIds = new Set<number>();
  const byFile = new Map<string, number>();
  rawImages.forEach((im, i) => {
    if (!isObj(im) || !isNum(im.id) || typeof im.file_name !== 'string' || im.file_name === '') {
      return p.add('bad_record', `images[${i}]: needs a numeric id and a file_name`);
    }
    allImageIds.add(im.id);
    const where = (): string => `images[${i}] (id ${im.id}, ${im.file_name})`;
    if (imgById.has(im.id)) return p.add('duplicate_image_id', where());
    const file = path.resolve(imagesDir, im.file_name);
    // By the path alone here; symlinks are resolved when the file is opened (data/image_file.ts).
    if (!isInside(path.resolve(imagesDir), file)) return p.add('image_outside_root', `${where()}: resolves to ${file}, outside ${imagesDir}; not opened`);
    const first = byFile.get(file);
    if (first !== undefined) return p.add('duplicate_file_name', `${where()}: the file of image id ${first} too`);
    byFile.set(file, im.id);
    const sized = isNum(im.width) && isNum(im.height) && im.width > 0 && im.height > 0;
    if (!sized) {
      if (im.width !== undefined || im.height !== undefined) return p.add('bad_record', `${where()}: width ${JSON.stringify(im.width)}, height ${JSON.stringify(im.height)} must be numbers > 0`);
      p.add('image_size_missing', `${where()}: no width/height`);
    }
    imgById.set(im.id, { id: im.id, file, width: sized ? (im.width as number) : 0, height: sized ? (im.height as number) : 0 });
  });
  return { imgById, allImageIds };
}

function readStructure(json: unknown, file: string, o: ValidateOptions, p: Problems): Structure | undefined {
  if (!isObj(json)) {
    p.add('not_a_list', 'top level: expected an object with images, annotations, categories');
    return undefined;
  }
  for (const k of ['images', 'annotations', 'categories']) {
    if (json[k] === undefined) p.add('missing_section', `"${k}" is missing`);
    else if (!Array.isArray(json[k])) p.add('not_a_list', `"${k}" is not a list`);
  }
  if (p.list().length) return undefined;
  const rawImages = json.images as unknown[], rawAnns = json.annotations as unknown[], rawCats = json.categories as unknown[];
  return { file, rawImages, rawAnns, rawCats, ...readCategories(rawCats, p), ...readImages(rawImages, o.imagesDir, p) };
}

/** Applies file results: drops bad images, fills in sizes the json lacked. */
function applyFileResults(s: Structure, results: Map<number, FileCheckResult> | undefined, p: Problems): void {
  for (const im of [...s.imgById.values()]) {
    const r = results?.get(im.id);
    if (r?.problem) {
      p.add(r.problem.kind, `image id ${im.id} (${path.basename(im.file)}): ${r.problem.detail}`);
      s.imgById.delete(im.id);
    } else if (im.width === 0) {
      if (r?.size) Object.assign(im, r.size);
      else s.imgById.delete(im.id);
    }
  }
}

function checkArea(a: Record<string, unknown>, w: number, h: number, where: () => string, p: Problems): void {
  if (!isNum(a.area) || a.area <= 0) return p.add('bad_area', `${where()}: area ${JSON.stringify(a.area)}`);
  const box = w * h;
  // `true`: present but not loaded (data/instances_reader.ts).
  const hasSegmentation = Array.isArray(a.segmentation) ? a.segmentation.length > 0 : isObj(a.segmentation) || a.segmentation === true;
  if (a.area > AREA_RATIO * box || (!hasSegmentation && a.area * AREA_RATIO < box)) {
    p.add('area_mismatch', `${where()}: area ${a.area} vs box ${w}×${h} = ${+box.toFixed(2)}${hasSegmentation ? '' : ' (no segmentation)'}`);
  }
}

function readAnnotations(s: Structure, p: Problems): CleanAnnotation[] {
  const annIds = new Set<number>();
  const annotations: CleanAnnotation[] = [];
  s.rawAnns.forEach((a, i) => {
    // Built only for a problem: at COCO scale (860k annotations) formatting every one costs seconds.
    const where = (): string => `annotations[${i}]${isObj(a) && a.id !== undefined ? ` (id ${String(a.id)})` : ''}`;
    if (!isObj(a) || !isNum(a.image_id) || !isNum(a.category_id)) return p.add('bad_record', `${where()}: needs numeric image_id and category_id`);
    if (isNum(a.id)) {
      if (annIds.has(a.id)) p.add('duplicate_annotation_id', where());
      annIds.add(a.id);
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) return p.add('bad_bbox', `${where()}: bbox ${JSON.stringify(b)} is not 4 finite numbers`);
    if (!s.catIds.has(a.category_id)) return p.add('unknown_category', `${where()}: category_id ${a.category_id}`);
    const im = s.imgById.get(a.image_id);
    if (!im) {
      // Annotations of images skipped above are not reported twice.
      if (!s.allImageIds.has(a.image_id)) p.add('unknown_image', `${where()}: image_id ${a.image_id}`);
      return;
    }
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1) return p.add('bad_iscrowd', `${where()}: iscrowd ${JSON.stringify(a.iscrowd)} is not 0 or 1`);
    const [x, y, w, h] = b as number[];
    if (w <= 0 || h <= 0) return p.add('degenerate_bbox', `${where()}: bbox [${b.join(', ')}] has width or height ≤ 0`);
    checkArea(a, w, h, where, p);
    const x1 = Math.max(0, x), y1 = Math.max(0, y), x2 = Math.min(im.width, x + w), y2 = Math.min(im.height, y + h);
    if (x1 !== x || y1 !== y || x2 !== x + w || y2 !== y + h) {
      if (x2 <= x1 || y2 <= y1) return p.add('degenerate_bbox', `${where()}: bbox [${b.join(', ')}] lies outside the ${im.width}×${im.height} image`);
      p.add('bbox_outside_image', `${where()}: bbox [${b.join(', ')}] clipped to the ${im.width}×${im.height} image`);
    }
    annotations.push({ imageId: a.image_id, categoryId: a.category_id, bbox: [x1, y1, x2 - x1, y2 - y1], iscrowd: a.iscrowd === 1 });
  });
  return annotations;
}

function finish(s: Structure | undefined, file: string, p: Problems): Validated {
  if (!s) {
    return { report: { file, images: 0, annotations: 0, categories: 0, usableImages: 0, usableAnnotations: 0, problems: p.list(), fatal: true }, images: [], annotations: [], categories: [] };
  }
  const annotations = readAnnotations(s, p);
  const images = [...s.imgById.values()];
  if (images.length === 0) p.add('no_images', 'no usable image remains');
  const problems = p.list();
  return {
    report: {
      file, images: s.rawImages.length, annotations: s.rawAnns.length, categories: s.rawCats.length,
      usableImages: images.length, usableAnnotations: annotations.length, problems,
      fatal: problems.some((g) => FATAL.has(g.kind)),
    },
    images, annotations, categories: s.categories,
  };
}

const records = (s: Structure): ImageRecord[] => [...s.imgById.values()];

/** Validates parsed COCO instances on this thread; `file` names the json in the report. */
export function validateCoco(json: unknown, file: string, o: ValidateOptions): Validated {
  const p = new Problems(o.examples ?? 5);
  const s = readStructure(json, file, o, p);
  const mode = o.checkFiles ?? 'header';
  if (s) applyFileResults(s, mode === 'none' ? undefined : new Map(records(s).map((im) => [im.id, checkImageFile(im, mode, imageLimits(o))])), p);
  return finish(s, file, p);
}

/** As `validateCoco`, with the image files checked on worker threads (`data check`). */
export async function validateCocoParallel(json: unknown, file: string, o: ValidateOptions & CheckPoolOptions): Promise<Validated> {
  const p = new Problems(o.examples ?? 5);
  const s = readStructure(json, file, o, p);
  const mode = o.checkFiles ?? 'decode';
  if (s) applyFileResults(s, mode === 'none' ? undefined : await checkImagesParallel(records(s), mode, imageLimits(o), o), p);
  return finish(s, file, p);
}

/** The report as text: one block per problem kind. */
export function formatReport(r: ValidationReport): string {
  const lines = [`${r.file}: ${r.images} images, ${r.annotations} annotations, ${r.categories} categories; usable: ${r.usableImages} images, ${r.usableAnnotations} annotations`];
  if (!r.problems.length) lines.push('  no problems found');
  for (const g of r.problems) {
    lines.push(`  ${g.kind}: ${g.count} (${g.action})`);
    for (const e of g.examples) lines.push(`    - ${e}`);
  }
  if (r.fatal) lines.push('  FATAL: this dataset cannot be used for training or evaluation');
  return lines.join('\n');
}
