/**
 * ghostdet's library entry: backends, backbones, weights, the COCO evaluator.
 *
 * ```js
 * const gd = require('ghostdet');
 * await gd.setBackend('wasm');
 * const m = gd.createBackbone('g_ghost_regnetx_032', { outStrides: [8, 16, 32] });
 * gd.loadSafetensors(m, 'weights.safetensors', { strict: false });
 * m.eval();
 * const [c3, c4, c5] = m.forward(gd.tf.zeros([1, 512, 512, 3]));   // NHWC
 * ```
 */
import { initBackend, BackendInfo, BackendName } from './backend/init_backend';

export { tf } from './engine/tf';
export { initBackend, describeBackend } from './backend/init_backend';
export type { BackendInfo, BackendName } from './backend/init_backend';
export { readSafetensors, writeSafetensors } from './weights/safetensors';
export { loadSafetensors, loadStateDict, moduleStateDict } from './nn/state_dict';
export { createBackbone, backboneNames, BACKBONES } from './backbones/index';
export type { Backbone, BackboneOptions, FeatureSpec } from './backbones/backbone';
export { Module, Layer } from './nn/module';
export { foldBatchNorm } from './nn/fold_bn';
export { countMacs } from './nn/macs';
export { CocoEval } from './eval/coco_eval';
export { cocoEvaluate, cocoEvaluateFiles } from './eval/coco_result';

/** Selects a backend by name (`auto`, `tensorflow`, `wasm`, `cpu`). */
export function setBackend(name: BackendName = 'auto'): Promise<BackendInfo> {
  return initBackend(name);
}
