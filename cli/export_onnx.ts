/**
 * `ghostdet export --format onnx`: a checkpoint → `<out>/model.onnx`, with
 * BatchNorms folded, decode and NMS inside (or the raw head maps with
 * `--no-postprocess`), and the classes and preprocessing in its metadata.
 * docs/onnx.md describes the graph.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { transformOf } from '../data/from_config';
import { buildDetectorFor } from '../detectors/build';
import { foldBatchNorms } from '../nn/fold_bn';
import { defaultInputSize, exportOnnx } from '../onnx/export_onnx';
import { writeFileAtomic } from '../util/atomic_write';
import { formatBytes } from '../util/read_file';
import { setupBackend } from './setup_backend';

/** `HxW` → `[H, W]`. */
export function parseInputSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  const h = m ? Number(m[1]) : 0, w = m ? Number(m[2]) : 0;
  if (!m || h < 1 || w < 1 || h > 16384 || w > 16384) throw new Error(`--input-size "${s}": give height x width in pixels, e.g. 800x1344`);
  return [h, w];
}

export interface OnnxExportArgs {
  backend?: string; config: string; set?: string[]; checkpoint: string; out: string;
  /** `HxW`; default `defaultInputSize` of the config's transform. */
  inputSize?: string;
  postprocess?: boolean;
  opset?: number;
}

export async function runOnnxExport(a: OnnxExportArgs): Promise<void> {
  await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const ck = readCheckpoint(a.checkpoint);
  const labels = ck.state.labels;
  if (!labels) throw new Error(`${a.checkpoint} has no label map`);
  const model = buildDetectorFor(config.model, labels.catIds.length);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  model.eval();
  const folded = foldBatchNorms(model);
  const transform = transformOf(config.data);
  const inputSize = a.inputSize ? parseInputSize(a.inputSize) : defaultInputSize(transform);
  const e = exportOnnx(model, {
    inputSize, postprocess: a.postprocess ?? true, opset: a.opset, labels, transform,
    names: { backbone: config.model.backbone.name, neck: config.model.neck.type ?? 'fpn' },
  });
  fs.mkdirSync(a.out, { recursive: true });
  const file = path.join(a.out, 'model.onnx');
  writeFileAtomic(file, e.bytes);
  console.log(`exported ${model.kind} (${model.numParams().toLocaleString('en-US')} parameters, ${folded} BatchNorms folded, ${labels.names.length} classes) to ${file} (${formatBytes(e.bytes.length)}, opset ${a.opset ?? 13})`);
  console.log(`input images: float32 [N, 3, ${inputSize[0]}, ${inputSize[1]}]; outputs ${e.outputs.map((o) => `${o.name} [${o.dims.join(', ')}]`).join(', ')}`);
  console.log(`operators: ${e.opTypes.join(', ')}`);
  console.log(`run it with: npx ghostdet predict --onnx ${file} IMAGES… --out DIR`);
  model.dispose();
}
