/**
 * The exported model in the page: the detector is built from its config by
 * the same `buildDetector` as in Node, its BatchNorms folded (the structure
 * the exported weights were saved from), then the weights loaded strictly.
 */
import { buildDetector } from '../detectors/build';
import type { Detector } from '../detectors/detector';
import { foldBatchNorms } from '../nn/fold_bn';
import { parseSafetensors } from '../weights/safetensors';
import { loadStateDict } from '../nn/state_dict';
import type { ExportMeta } from './export_meta';

export function loadExportedModel(meta: ExportMeta, weights: Uint8Array): Detector {
  const model = buildDetector(meta.model);
  foldBatchNorms(model);
  loadStateDict(model, parseSafetensors(weights, meta.weights).tensors, { strict: true, source: meta.weights });
  model.eval();
  return model;
}
