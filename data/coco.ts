/**
 * A COCO-format detection dataset, validated (see validate.ts) and indexed for
 * training: per image, boxes in xyxy pixels with contiguous labels, and crowd
 * regions kept apart as ignore boxes. The label map (COCO's ids 1..90 → 0..79)
 * travels with every model trained on it.
 */
import { readInstancesForBoxes } from './instances_reader';
import type { ImageLimits } from './image_file';
import { formatReport, imageLimits, validateCoco, ValidateOptions, ValidationReport } from './validate';

export interface LabelMap {
  /** `catIds[label]` is the COCO category id of a contiguous label. */
  catIds: number[];
  names: string[];
}

export interface DatasetImage {
  id: number;
  file: string;
  width: number;
  height: number;
  /** `[n·4]` xyxy pixels. */
  boxes: Float32Array;
  /** `[n]` contiguous labels 0..K−1. */
  labels: Int32Array;
  /** `[m·4]` xyxy crowd regions: anchors over them are ignored, never negatives. */
  ignore: Float32Array;
}

export interface CocoDataset {
  annFile: string;
  images: DatasetImage[];
  labels: LabelMap;
  report: ValidationReport;
  /** Where image files may be read from, and how large they may be. */
  limits: ImageLimits;
}

export interface LoadCocoOptions extends ValidateOptions {
  /** Drop images with no (non-crowd) box; default false keeps them as background images. */
  filterEmpty?: boolean;
  /** Print the validation report when it has problems (default: to stderr). */
  log?: (msg: string) => void;
}

/** Reads, validates and indexes an instances json. Throws when the report is fatal. */
export function loadCoco(annFile: string, o: LoadCocoOptions): CocoDataset {
  const v = validateCoco(readInstancesForBoxes(annFile), annFile, o);
  if (v.report.problems.length) (o.log ?? ((m: string) => console.error(m)))(formatReport(v.report));
  if (v.report.fatal) throw new Error(`${annFile}: the dataset cannot be used (see the report above)`);
  const cats = [...v.categories].sort((a, b) => a.id - b.id);
  const labelOf = new Map(cats.map((c, i) => [c.id, i]));
  const perImage = new Map<number, { boxes: number[]; labels: number[]; ignore: number[] }>();
  for (const im of v.images) perImage.set(im.id, { boxes: [], labels: [], ignore: [] });
  for (const a of v.annotations) {
    const t = perImage.get(a.imageId)!;
    const [x, y, w, h] = a.bbox;
    if (a.iscrowd) t.ignore.push(x, y, x + w, y + h);
    else {
      t.boxes.push(x, y, x + w, y + h);
      t.labels.push(labelOf.get(a.categoryId)!);
    }
  }
  let images: DatasetImage[] = v.images.map((im) => {
    const t = perImage.get(im.id)!;
    return { ...im, boxes: Float32Array.from(t.boxes), labels: Int32Array.from(t.labels), ignore: Float32Array.from(t.ignore) };
  });
  if (o.filterEmpty) images = images.filter((im) => im.labels.length > 0);
  return { annFile, images, labels: { catIds: cats.map((c) => c.id), names: cats.map((c) => c.name) }, report: v.report, limits: imageLimits(o) };
}
