/**
 * COCO instances validation: every problem a user's dataset can have, grouped
 * by kind with counts and the first few record ids, and what happens to each
 * record (skipped, clipped, refused). The cleaned records it returns are the
 * only ones training ever sees: nothing bad is silently trained on.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeImage, imageSize } from './image';

export type ProblemKind =
  | 'missing_section' | 'not_a_list' | 'bad_record'
  | 'duplicate_image_id' | 'duplicate_annotation_id' | 'duplicate_category_id'
  | 'unknown_image' | 'unknown_category' | 'bad_bbox' | 'degenerate_bbox' | 'bbox_outside_image'
  | 'image_missing' | 'image_undecodable' | 'image_size_mismatch' | 'no_images';

/** What happens to records with each problem. */
export const ACTION: Record<ProblemKind, string> = {
  missing_section: 'fatal: the file cannot be used',
  not_a_list: 'fatal: the file cannot be used',
  bad_record: 'skipped',
  duplicate_image_id: 'later duplicates skipped',
  duplicate_annotation_id: 'kept (ids are not used for training)',
  duplicate_category_id: 'later duplicates skipped',
  unknown_image: 'annotation skipped',
  unknown_category: 'annotation skipped',
  bad_bbox: 'annotation skipped',
  degenerate_bbox: 'annotation skipped',
  bbox_outside_image: 'box clipped to the image',
  image_missing: 'image and its annotations skipped',
  image_undecodable: 'image and its annotations skipped',
  image_size_mismatch: 'image and its annotations skipped',
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
  checkFiles?: 'none' | 'header' | 'decode';
  /** Examples kept per problem kind (default 5). */
  examples?: number;
}

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

/** Checks one image's file; returns a problem kind or undefined. */
function checkFile(im: CleanImage, mode: 'header' | 'decode'): { kind: ProblemKind; detail: string } | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(im.file);
  } catch {
    return { kind: 'image_missing', detail: im.file };
  }
  let size: { width: number; height: number } | undefined;
  try {
    size = mode === 'decode' ? decodeImage(buf, im.file) : imageSize(buf);
  } catch (e) {
    return { kind: 'image_undecodable', detail: (e as Error).message };
  }
  if (!size) return { kind: 'image_undecodable', detail: `${im.file}: not a readable PNG or JPEG` };
  if (size.width !== im.width || size.height !== im.height) {
    return { kind: 'image_size_mismatch', detail: `declared ${im.width}×${im.height}, file is ${size.width}×${size.height}` };
  }
  return undefined;
}

/** Validates parsed COCO instances; `file` names the json in the report. */
export function validateCoco(json: unknown, file: string, o: ValidateOptions): Validated {
  const p = new Problems(o.examples ?? 5);
  const empty = (fatal: boolean): Validated => ({
    report: { file, images: 0, annotations: 0, categories: 0, usableImages: 0, usableAnnotations: 0, problems: p.list(), fatal }, images: [], annotations: [], categories: [],
  });
  if (!isObj(json)) {
    p.add('not_a_list', 'top level: expected an object with images, annotations, categories');
    return empty(true);
  }
  for (const k of ['images', 'annotations', 'categories']) {
    if (json[k] === undefined) p.add('missing_section', `"${k}" is missing`);
    else if (!Array.isArray(json[k])) p.add('not_a_list', `"${k}" is not a list`);
  }
  if (p.list().length) return empty(true);
  const rawImages = json.images as unknown[], rawAnns = json.annotations as unknown[], rawCats = json.categories as unknown[];

  const categories: CleanCategory[] = [];
  const catIds = new Set<number>();
  rawCats.forEach((c, i) => {
    if (!isObj(c) || !isNum(c.id)) return p.add('bad_record', `categories[${i}]: needs a numeric id`);
    if (catIds.has(c.id)) return p.add('duplicate_category_id', `categories[${i}] (id ${c.id})`);
    catIds.add(c.id);
    categories.push({ id: c.id, name: String(c.name ?? c.id) });
  });

  const imgById = new Map<number, CleanImage>();
  rawImages.forEach((im, i) => {
    if (!isObj(im) || !isNum(im.id) || typeof im.file_name !== 'string' || !isNum(im.width) || !isNum(im.height) || im.width <= 0 || im.height <= 0) {
      return p.add('bad_record', `images[${i}]: needs id, file_name, width > 0, height > 0`);
    }
    if (imgById.has(im.id)) return p.add('duplicate_image_id', `images[${i}] (id ${im.id})`);
    imgById.set(im.id, { id: im.id, file: path.resolve(o.imagesDir, im.file_name), width: im.width, height: im.height });
  });

  const mode = o.checkFiles ?? 'header';
  if (mode !== 'none') {
    for (const im of [...imgById.values()]) {
      const bad = checkFile(im, mode);
      if (bad) {
        p.add(bad.kind, `image id ${im.id} (${path.basename(im.file)}): ${bad.detail}`);
        imgById.delete(im.id);
      }
    }
  }

  const annIds = new Set<number>();
  const annotations: CleanAnnotation[] = [];
  rawAnns.forEach((a, i) => {
    const where = `annotations[${i}]${isObj(a) && a.id !== undefined ? ` (id ${String(a.id)})` : ''}`;
    if (!isObj(a) || !isNum(a.image_id) || !isNum(a.category_id)) return p.add('bad_record', `${where}: needs numeric image_id and category_id`);
    if (isNum(a.id)) {
      if (annIds.has(a.id)) p.add('duplicate_annotation_id', where);
      annIds.add(a.id);
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) return p.add('bad_bbox', `${where}: bbox ${JSON.stringify(b)} is not 4 finite numbers`);
    if (!catIds.has(a.category_id)) return p.add('unknown_category', `${where}: category_id ${a.category_id}`);
    const im = imgById.get(a.image_id);
    if (!im) {
      // Annotations of images skipped above are not reported twice.
      if (!rawImages.some((r) => isObj(r) && r.id === a.image_id)) p.add('unknown_image', `${where}: image_id ${a.image_id}`);
      return;
    }
    const [x, y, w, h] = b as number[];
    if (w <= 0 || h <= 0) return p.add('degenerate_bbox', `${where}: bbox [${b.join(', ')}] has width or height ≤ 0`);
    const x1 = Math.max(0, x), y1 = Math.max(0, y), x2 = Math.min(im.width, x + w), y2 = Math.min(im.height, y + h);
    if (x1 !== x || y1 !== y || x2 !== x + w || y2 !== y + h) {
      if (x2 <= x1 || y2 <= y1) return p.add('degenerate_bbox', `${where}: bbox [${b.join(', ')}] lies outside the ${im.width}×${im.height} image`);
      p.add('bbox_outside_image', `${where}: bbox [${b.join(', ')}] clipped to the ${im.width}×${im.height} image`);
    }
    annotations.push({ imageId: a.image_id, categoryId: a.category_id, bbox: [x1, y1, x2 - x1, y2 - y1], iscrowd: Boolean(a.iscrowd) });
  });

  const images = [...imgById.values()];
  if (images.length === 0) p.add('no_images', 'no usable image remains');
  const problems = p.list();
  return {
    report: {
      file, images: rawImages.length, annotations: rawAnns.length, categories: rawCats.length,
      usableImages: images.length, usableAnnotations: annotations.length, problems,
      fatal: problems.some((g) => FATAL.has(g.kind)),
    },
    images, annotations, categories,
  };
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
