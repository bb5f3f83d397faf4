/**
 * The built-in `shapes` dataset: coloured circles, squares and triangles on
 * textured, noisy backgrounds, as PNG files plus COCO instances json (train and
 * val splits). Sizes range from small (< 32² px) to large; some objects overlap;
 * some images are empty. Same seed, same bytes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../util/rng';
import { encodePng } from './image';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle'] as const;

export interface SynthOptions {
  out: string;
  /** Training images. */
  images: number;
  /** Validation images (held out, different seed stream). */
  val: number;
  /** Square image side in pixels. */
  size: number;
  seed: number;
  /** Most objects per image (default 5). */
  maxObjects?: number;
}

interface Shape {
  cls: number;
  /** Tight box x, y, w, h in pixels. */
  box: [number, number, number, number];
  area: number;
  /** Outline x1, y1, x2, y2, … (COCO segmentation polygon; a 24-gon for circles). */
  polygon: number[];
  color: [number, number, number];
  inside: (x: number, y: number) => boolean;
}

function iou(a: number[], b: number[]): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a[2] * a[3] + b[2] * b[3] - w * h);
}

function makeShape(rng: Rng, size: number, bg: number[]): Shape {
  const cls = rng.int(SHAPE_CLASSES.length);
  // Log-uniform side from 10 px (COCO "small") to 60% of the image.
  const s = Math.exp(rng.uniform(Math.log(10), Math.log(0.6 * size)));
  const x0 = rng.uniform(0, size - s), y0 = rng.uniform(0, size - s);
  let color: [number, number, number];
  do {
    color = [rng.int(256), rng.int(256), rng.int(256)];
  } while (Math.max(...color.map((c, i) => Math.abs(c - bg[i]))) < 90);
  if (cls === 0) {
    const r = s / 2, cx = x0 + r, cy = y0 + r;
    const polygon = Array.from({ length: 24 }, (_, k) => [cx + r * Math.cos((k * Math.PI) / 12), cy + r * Math.sin((k * Math.PI) / 12)]).flat();
    return { cls, box: [x0, y0, s, s], area: Math.PI * r * r, polygon, color, inside: (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r };
  }
  if (cls === 1) {
    return { cls, box: [x0, y0, s, s], area: s * s, polygon: [x0, y0, x0 + s, y0, x0 + s, y0 + s, x0, y0 + s], color, inside: (x, y) => x >= x0 && x <= x0 + s && y >= y0 && y <= y0 + s };
  }
  // Triangle with its apex up: (x0 + s/2, y0), (x0, y0 + s), (x0 + s, y0 + s).
  const cx = x0 + s / 2;
  return {
    cls, box: [x0, y0, s, s], area: (s * s) / 2, polygon: [cx, y0, x0 + s, y0 + s, x0, y0 + s], color,
    inside: (x, y) => y >= y0 && y <= y0 + s && Math.abs(x - cx) <= ((y - y0) / s) * (s / 2),
  };
}

/** Renders one image: background texture, shapes with 2×2 supersampled edges, sensor noise. */
function renderImage(rng: Rng, size: number, maxObjects: number): { data: Uint8Array; shapes: Shape[] } {
  const bg = [rng.uniform(30, 225), rng.uniform(30, 225), rng.uniform(30, 225)];
  const f1 = rng.uniform(0.02, 0.15), f2 = rng.uniform(0.02, 0.15), p1 = rng.uniform(0, 6.3), p2 = rng.uniform(0, 6.3);
  const amp = rng.uniform(5, 25), gx = rng.uniform(-0.3, 0.3), gy = rng.uniform(-0.3, 0.3);
  const n = rng.next() < 0.05 ? 0 : 1 + rng.int(maxObjects);
  const shapes: Shape[] = [];
  for (let tries = 0; shapes.length < n && tries < 50; tries++) {
    const s = makeShape(rng, size, bg);
    // Some overlap is allowed, heavy occlusion is not.
    if (shapes.every((o) => iou(o.box, s.box) < 0.3)) shapes.push(s);
  }
  const data = new Uint8Array(size * size * 3);
  const sub = [0.25, 0.75];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const tex = amp * Math.sin(f1 * x + p1) * Math.cos(f2 * y + p2) + gx * (x - size / 2) + gy * (y - size / 2);
      const px = [bg[0] + tex, bg[1] + tex * 0.8, bg[2] + tex * 0.6];
      for (const s of shapes) {
        const [bx, by, bw, bh] = s.box;
        if (x + 1 < bx || x > bx + bw || y + 1 < by || y > by + bh) continue;
        let cover = 0;
        for (const dy of sub) for (const dx of sub) if (s.inside(x + dx, y + dy)) cover += 0.25;
        if (cover > 0) for (let c = 0; c < 3; c++) px[c] = px[c] * (1 - cover) + s.color[c] * cover;
      }
      for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(px[c] + rng.normal() * 6)));
    }
  }
  return { data, shapes };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function writeSplit(dir: string, split: string, count: number, rng: Rng, o: SynthOptions, firstId: number): string {
  const imgDir = path.join(dir, split);
  fs.mkdirSync(imgDir, { recursive: true });
  const images = [], annotations = [];
  let annId = firstId * 100;
  for (let i = 0; i < count; i++) {
    const id = firstId + i;
    const file = `${String(id).padStart(6, '0')}.png`;
    const { data, shapes } = renderImage(rng, o.size, o.maxObjects ?? 5);
    fs.writeFileSync(path.join(imgDir, file), encodePng({ width: o.size, height: o.size, data }));
    images.push({ id, file_name: file, width: o.size, height: o.size });
    for (const s of shapes) {
      annotations.push({ id: annId++, image_id: id, category_id: s.cls + 1, bbox: s.box.map(round2), area: round2(s.area), segmentation: [s.polygon.map(round2)], iscrowd: 0 });
    }
  }
  const categories = SHAPE_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
  const annFile = path.join(dir, 'annotations', `instances_${split}.json`);
  fs.mkdirSync(path.dirname(annFile), { recursive: true });
  fs.writeFileSync(annFile, JSON.stringify({ info: synthInfo(o), images, annotations, categories }));
  return annFile;
}

export const SYNTH_DESCRIPTION = 'ghostdet synthetic shapes';

/** What the annotation files record of the options they were made with (to tell a stale dataset). */
export interface SynthInfo { description: string; images: number; val: number; size: number; seed: number; maxObjects: number }

export function synthInfo(o: SynthOptions): SynthInfo {
  return { description: SYNTH_DESCRIPTION, images: o.images, val: o.val, size: o.size, seed: o.seed, maxObjects: o.maxObjects ?? 5 };
}

/** Writes `<out>/{train,val}/*.png` and `<out>/annotations/instances_{train,val}.json`. */
export function synthesize(o: SynthOptions): { train: string; val: string } {
  const train = writeSplit(o.out, 'train', o.images, new Rng(o.seed), o, 1);
  const val = writeSplit(o.out, 'val', o.val, new Rng(o.seed + 0x9e3779b9), o, 1_000_001);
  return { train, val };
}
