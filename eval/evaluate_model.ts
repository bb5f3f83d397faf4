/**
 * Model over a dataset → COCO results (original pixels, dataset category ids)
 * → the pycocotools-exact evaluator. Used by `ghostdet eval`, the trainer's
 * evaluation hook and the main job.
 */
import { tf } from '../engine/tf';
import { Detector, Detection, headTensors } from '../detectors/detector';
import type { DataLoader } from '../data/loader';
import type { LabelMap } from '../data/coco';
import { readJson } from '../data/coco_json';
import { cocoEvaluate, CocoResult } from './coco_result';

export interface CocoDetection { image_id: number; category_id: number; bbox: [number, number, number, number]; score: number }

/** Detections → COCO results rows (xywh in original pixels, category ids of the dataset). */
export function toCocoResults(imageId: number, dets: Detection[], labels: LabelMap): CocoDetection[] {
  return dets.map((d) => ({
    image_id: imageId,
    category_id: labels.catIds[d.label],
    bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]],
    score: d.score,
  }));
}

/** Runs the model (eval mode) over every batch of `loader`. `onBatch` reports progress. */
export async function predictDataset(model: Detector, loader: DataLoader, onBatch?: (done: number, total: number) => void): Promise<CocoDetection[]> {
  const wasTraining = model.training;
  model.eval();
  const results: CocoDetection[] = [];
  let done = 0;
  try {
    for await (const batch of loader.stream(0)) {
      const x = tf.tensor4d(batch.images, batch.shape);
      const out = model.forward(x);
      let dets: Detection[][];
      try {
        dets = await model.predict(out, batch.metas);
      } finally {
        tf.dispose([x, ...headTensors(out)]);
      }
      dets.forEach((d, i) => results.push(...toCocoResults(batch.metas[i].id, d, loader.dataset.labels)));
      onBatch?.(++done, loader.length);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return results;
}

export interface Evaluation extends CocoResult {
  results: CocoDetection[];
  /** Images that failed to decode: left out of the ground truth too (their boxes would count as misses). */
  skippedImages: number[];
}

/** Predicts and evaluates against the loader's annotation file; images the loader skipped are left out of the ground truth too. */
export async function evaluateModel(model: Detector, loader: DataLoader, onBatch?: (done: number, total: number) => void): Promise<Evaluation> {
  const results = await predictDataset(model, loader, onBatch);
  const gt = readJson(loader.dataset.annFile);
  const skipped = [...loader.badImages.keys()];
  const imgIds = loader.dataset.images.map((im) => im.id).filter((id) => !loader.badImages.has(id));
  const r = cocoEvaluate({ gt, dt: results, gtFile: loader.dataset.annFile, dtFile: 'predictions', imgIds });
  return { ...r, results, skippedImages: skipped };
}
