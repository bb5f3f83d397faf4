/**
 * `ghostdet predict`: detections drawn on images (class name and score),
 * optionally beside the ground truth; SVG rasterised to PNG. The detector is
 * a checkpoint on tfjs, or (`--onnx`) an exported model on ONNX Runtime with
 * the same preprocessing. `--json` writes the detections as COCO results.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RgbImage } from '../data/image';
import { encodePng, readImage } from '../data/image';
import type { LabelMap } from '../data/coco';
import { loadCoco } from '../data/coco';
import type { Detection } from '../detectors/detector';
import { CocoDetection, toCocoResults } from '../eval/evaluate_model';
import { detectionsBody } from '../eval/detections_svg';
import { svgDoc } from '../eval/svg';
import { svgToPng } from '../eval/svg_png';
import { writeFileAtomic } from '../util/atomic_write';
import { setupBackend } from './setup_backend';

export interface PredictArgs {
  backend?: string; config?: string; set?: string[]; checkpoint?: string; onnx?: string;
  images: string[]; out: string; score: number; gt?: string; json?: string;
}

/** Whatever gives detections: a checkpoint on tfjs or an ONNX model on ONNX Runtime. */
interface DetectorSource {
  labels: LabelMap;
  detect(img: RgbImage): Promise<Detection[]>;
  close(): Promise<void>;
}

async function checkpointSource(a: PredictArgs): Promise<DetectorSource> {
  await setupBackend(a.backend);
  const [{ loadConfig }, { readCheckpoint, restoreCheckpoint }, { buildDetectorFor }, { transformOf }, { detectImage }] = await Promise.all([
    import('../configs/schema'), import('../train/checkpoint'), import('../detectors/build'), import('../data/from_config'), import('../detectors/detect_image'),
  ]);
  const { config } = loadConfig(a.config, a.set ?? []);
  const ck = readCheckpoint(a.checkpoint!);
  const labels = ck.state.labels;
  if (!labels) throw new Error(`${a.checkpoint} has no label map`);
  const model = buildDetectorFor(config.model, labels.catIds.length);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  model.eval();
  const transform = transformOf(config.data);
  return { labels, detect: (img) => detectImage(model, img, transform), close: async () => model.dispose() };
}

async function onnxSource(file: string): Promise<DetectorSource> {
  const { OnnxDetector } = await import('../onnx/onnx_detector');
  const det = await OnnxDetector.load(file);
  console.log(`ONNX Runtime (CPU): ${file}, input [N, 3, ${det.meta.inputSize.join(', ')}], ${det.meta.head} ${det.meta.backbone}`);
  return { labels: { names: det.meta.classes, catIds: det.meta.categoryIds }, detect: (img) => det.detect(img), close: () => det.dispose() };
}

/** An image's id for COCO results: from the ground truth by file name, else the file name's digits (COCO names), else its position. */
function imageIdOf(file: string, index: number, gtIds: Map<string, number> | undefined): number {
  const base = path.basename(file);
  const fromGt = gtIds?.get(base);
  if (fromGt != null) return fromGt;
  const digits = /^(\d+)\.[^.]+$/.exec(base);
  return digits ? Number(digits[1]) : index + 1;
}

export async function runPredict(a: PredictArgs): Promise<void> {
  const src = a.onnx ? await onnxSource(a.onnx) : await checkpointSource(a);
  const { names } = src.labels;
  const gt = a.gt ? loadCoco(a.gt, { imagesDir: path.dirname(a.images[0] ?? '.'), checkFiles: 'none', log: () => undefined }) : undefined;
  const gtIds = gt ? new Map(gt.images.map((im) => [path.basename(im.file), im.id])) : undefined;
  const results: CocoDetection[] = [];
  fs.mkdirSync(a.out, { recursive: true });
  try {
    for (const [index, file] of a.images.entries()) {
      const img = readImage(file);
      const dets = await src.detect(img);
      results.push(...toCocoResults(imageIdOf(file, index, gtIds), dets, src.labels));
      const kept = dets.filter((d) => d.score >= a.score);
      const href = `data:image/png;base64,${encodePng(img).toString('base64')}`;
      const w = img.width, h = img.height;
      let body = detectionsBody({ width: w, height: h, imageHref: href, detections: kept, names });
      let width = w;
      const gtIm = gt?.images.find((im) => path.basename(im.file) === path.basename(file));
      if (gt && gtIm) {
        const truth = Array.from(gtIm.labels, (l, i) => ({ box: Array.from(gtIm.boxes.subarray(4 * i, 4 * i + 4)) as [number, number, number, number], label: l }));
        // Ground truth on the left, detections on the right, 8 px apart.
        body = detectionsBody({ width: w, height: h, imageHref: href, detections: [], truth, names }) + `<g transform="translate(${w + 8} 0)">${body}</g>`;
        width = 2 * w + 8;
      }
      const svg = svgDoc(width, h, body, '#fff');
      const dest = path.join(a.out, path.basename(file).replace(/\.[^.]+$/, '') + '.png');
      writeFileAtomic(dest.replace(/\.png$/, '.svg'), svg);
      writeFileAtomic(dest, svgToPng(svg));
      console.log(`${dest}: ${kept.length} detections ≥ ${a.score} (${kept.map((d) => `${names[d.label]} ${d.score.toFixed(2)}`).join(', ')})`);
    }
  } finally {
    await src.close();
  }
  if (a.json) {
    writeFileAtomic(a.json, JSON.stringify(results) + '\n');
    console.log(`${a.json}: ${results.length} detections as COCO results`);
  }
}
