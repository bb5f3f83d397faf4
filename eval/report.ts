/** The run report (`report.json` + `report.md`): mAP, FPS, the 12 COCO stats, per-category AP, backend, size. */
import * as path from 'path';
import { tf } from '../engine/tf';
import { writeFileAtomic } from '../util/atomic_write';
import type { Detector } from '../detectors/detector';
import { countMacs } from '../nn/macs';
import { STAT_LABELS } from './coco_eval';
import type { FpsResult } from './fps';

export interface Report {
  mAP: number;
  fps: number;
  stats: number[];
  perCategoryAP: Record<string, number>;
  backend: string;
  params: number;
  macs: number;
  inputSize: [number, number];
  config: unknown;
  fpsDetail?: FpsResult;
  [k: string]: unknown;
}

/** Parameters and MACs of the whole detector at an input size (MACs of convs and linears, batch 1). */
export function modelCost(model: Detector, h: number, w: number): { params: number; macs: number } {
  const wasTraining = model.training;
  model.eval();
  const macs = countMacs(() => tf.tidy(() => { model.forward(tf.zeros([1, h, w, 3])); }));
  if (wasTraining) model.train();
  return { params: model.numParams(), macs };
}

export function writeReport(dir: string, r: Report, names: Map<number, string>): { json: string; md: string } {
  const json = path.join(dir, 'report.json'), md = path.join(dir, 'report.md');
  writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  const lines = [
    '# ghostdet report', '',
    `- bbox mAP@[.50:.95]: **${r.mAP.toFixed(4)}**`,
    `- FPS (batch 1, ${r.inputSize[0]}×${r.inputSize[1]}, with post-processing): **${r.fps.toFixed(2)}** on ${r.backend}`,
    `- parameters: ${r.params.toLocaleString('en-US')}; MACs at that size: ${(r.macs / 1e9).toFixed(3)} G`, '',
    '| stat | value |', '| --- | --- |',
    ...r.stats.map((v, i) => `| ${STAT_LABELS[i]} | ${v.toFixed(4)} |`), '',
    '| category | AP |', '| --- | --- |',
    ...Object.entries(r.perCategoryAP).map(([id, ap]) => `| ${names.get(Number(id)) ?? id} | ${ap < 0 ? 'n/a' : ap.toFixed(4)} |`), '',
  ];
  writeFileAtomic(md, lines.join('\n'));
  return { json, md };
}
