/** What the ONNX tests share: a seeded detector that detects, and onnx.checker. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { loadConfig } from '../../configs/schema';
import { buildDetector } from '../../detectors/build';
import type { Detector } from '../../detectors/detector';
import { foldBatchNorms } from '../../nn/fold_bn';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const LABELS = { names: ['circle', 'square', 'triangle'], catIds: [1, 2, 3] };

/** A seeded detector in eval mode (BatchNorms folded unless `fold` is false) with class (and objectness) biases at 0, so scores spread and every image has detections. */
export function seededDetector(config: string, seed = 7, fold = true): Detector {
  const { config: c } = loadConfig(path.join(ROOT, 'configs', config));
  seedInit(seed);
  const model = buildDetector({ ...c.model, numClasses: LABELS.names.length });
  for (const p of model.namedParameters()) {
    if (/(retina_cls|multi_level_conv_cls\.\d+|multi_level_conv_obj\.\d+)\.bias$/.test(p.name)) p.variable.assign(tf.zerosLike(p.variable));
  }
  model.eval();
  if (fold) foldBatchNorms(model);
  return model;
}

/** Python with the onnx package (Debian's python3-onnx), if any. */
export function pythonWithOnnx(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      // Run outside the repository: its onnx/ folder would shadow the package.
      execFileSync(py, ['-c', 'import onnx.checker'], { cwd: os.tmpdir(), stdio: 'ignore' });
      return py;
    } catch { /* next */ }
  }
  return undefined;
}

/** `onnx.checker.check_model(..., full_check=True)` on `bytes`; throws with the checker's message. */
export function onnxCheck(py: string, bytes: Uint8Array): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-onnx-check-'));
  try {
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, bytes);
    execFileSync(py, ['-c', 'import onnx, onnx.checker, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
