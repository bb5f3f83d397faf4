/**
 * `ghostdet export`: a checkpoint → a static folder that runs the detector in
 * a browser, or with `--format onnx` an ONNX model (cli/export_onnx.ts). The
 * web folder holds index.html + app.js (the project's own model code, bundled at
 * build time), model.json (config, preprocessing, labels), the weights with
 * BatchNorms folded, and the wasm binaries. Nothing is fetched from the
 * network at run time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { transformOf } from '../data/from_config';
import { buildDetector } from '../detectors/build';
import { foldBatchNorms } from '../nn/fold_bn';
import { serializeSafetensors } from '../weights/safetensors';
import { moduleStateDict } from '../nn/state_dict';
import { writeFileAtomic } from '../util/atomic_write';
import type { ExportMeta } from '../web/export_meta';
import { setupBackend } from './setup_backend';

export interface ExportArgs {
  backend?: string; config: string; set?: string[]; checkpoint: string; out: string; score: number;
  format?: 'web' | 'onnx';
  /** onnx: `HxW`. */
  inputSize?: string;
  postprocess?: boolean;
  opset?: number;
}

const STATIC = path.resolve(__dirname, '..', 'web', 'static');
/** The single-threaded builds (plain and SIMD): what the page asks for. */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

function wasmDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

export async function runExport(a: ExportArgs): Promise<void> {
  if (a.format === 'onnx') return (await import('./export_onnx')).runOnnxExport(a);
  for (const f of ['index.html', 'app.js']) {
    if (!fs.existsSync(path.join(STATIC, f))) throw new Error(`${path.join(STATIC, f)} is missing: run "npm run build" (it bundles the page)`);
  }
  await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const ck = readCheckpoint(a.checkpoint);
  const labels = ck.state.labels;
  if (!labels) throw new Error(`${a.checkpoint} has no label map`);
  const modelConfig = { ...config.model, numClasses: labels.catIds.length };
  const model = buildDetector(modelConfig);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  const folded = foldBatchNorms(model);
  fs.mkdirSync(a.out, { recursive: true });
  const weights = serializeSafetensors(await moduleStateDict(model), { ghostdet_export: 'bn-folded' });
  writeFileAtomic(path.join(a.out, 'weights.safetensors'), weights);
  const meta: ExportMeta = {
    format: 'ghostdet-web-1', config, model: modelConfig, transform: transformOf(config.data), labels, weights: 'weights.safetensors',
    source: { checkpoint: path.basename(a.checkpoint), config: path.basename(a.config), exportedAt: new Date().toISOString() },
    scoreThr: a.score,
  };
  writeFileAtomic(path.join(a.out, 'model.json'), JSON.stringify(meta, null, 2) + '\n');
  for (const f of ['index.html', 'app.js']) fs.copyFileSync(path.join(STATIC, f), path.join(a.out, f));
  for (const f of WASM_FILES) fs.copyFileSync(path.join(wasmDir(), f), path.join(a.out, f));
  const size = fs.readdirSync(a.out).reduce((s, f) => s + fs.statSync(path.join(a.out, f)).size, 0);
  console.log(`exported ${model.numParams().toLocaleString('en-US')} parameters (${folded} BatchNorms folded), ${labels.names.length} classes to ${a.out} (${(size / 2 ** 20).toFixed(1)} MB: index.html, app.js, model.json, weights.safetensors, ${WASM_FILES.join(', ')})`);
  console.log(`open it with: npx ghostdet serve ${a.out}`);
  model.dispose();
}
