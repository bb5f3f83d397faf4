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
/** Processes sharing an evaluation (train/communicator.ts's Communicator is one): batch k is rank k mod size's, results go to rank 0. */
export interface EvalShard {
  rank: number;
  size: number;
  gather(bytes: Uint8Array): Uint8Array[] | null;
}

export async function predictDataset(model: Detector, loader: DataLoader, onBatch?: (done: number, total: number) => void, shard?: EvalShard): Promise<CocoDetection[]> {
  const wasTraining = model.training;
  model.eval();
  const results: CocoDetection[] = [];
  let done = 0;
  try {
    let k = 0;
    for await (const batch of loader.stream(0)) {
      if (shard && k++ % shard.size !== shard.rank) continue;
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
  return score(loader, await predictDataset(model, loader, onBatch), [...loader.badImages.keys()]);
}

/**
 * `evaluateModel` shared by processes: each predicts its batches, rank 0
 * gathers the detections and undecodable images, and scores them (the same
 * numbers as one process); the others get undefined.
 */
export async function evaluateShard(model: Detector, loader: DataLoader, shard: EvalShard): Promise<Evaluation | undefined> {
  const results = await predictDataset(model, loader, undefined, shard);
  const mine = Buffer.from(JSON.stringify({ results, bad: [...loader.badImages.keys()] }));
  const all = shard.gather(new Uint8Array(mine.buffer, mine.byteOffset, mine.length));
  if (!all) return undefined;
  const parts = all.map((b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8')) as { results: CocoDetection[]; bad: number[] });
  // In image order, as one process lists them (batches are contiguous runs of images, dealt round robin).
  const merged = parts.flatMap((p) => p.results);
  const order = new Map(loader.dataset.images.map((im, i) => [im.id, i]));
  const stable = merged.map((r, i) => ({ r, i })).sort((a, b) => (order.get(a.r.image_id)! - order.get(b.r.image_id)!) || a.i - b.i).map((x) => x.r);
  return score(loader, stable, [...new Set(parts.flatMap((p) => p.bad))]);
}

function score(loader: DataLoader, results: CocoDetection[], skipped: number[]): Evaluation {
  const gt = readJson(loader.dataset.annFile);
  const bad = new Set(skipped);
  const imgIds = loader.dataset.images.map((im) => im.id).filter((id) => !bad.has(id));
  const r = cocoEvaluate({ gt, dt: results, gtFile: loader.dataset.annFile, dtFile: 'predictions', imgIds });
  return { ...r, results, skippedImages: skipped };
}
