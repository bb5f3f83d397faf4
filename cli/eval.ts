/** `ghostdet eval`: a checkpoint on the config's val split → COCO stats + FPS → report.json / report.md. */
import * as path from 'path';
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { buildDetectorFor } from '../detectors/build';
import { dataPaths, loadSplit, valLoader, transformOf } from '../data/from_config';
import { evaluateModel } from '../eval/evaluate_model';
import { measureFps } from '../eval/fps';
import { modelCost, writeReport } from '../eval/report';
import { writeFileAtomic } from '../util/atomic_write';
import { perCategoryTable } from '../eval/coco_summary';
import { setupBackend } from './setup_backend';

export interface EvalArgs { backend?: string; config: string; set?: string[]; checkpoint: string; json?: string; outDir?: string }

export async function runEval(a: EvalArgs): Promise<void> {
  const info = await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const outDir = path.resolve(a.outDir ?? path.dirname(a.checkpoint));
  const paths = dataPaths(config.data, outDir, (s) => console.error(s));
  const val = loadSplit(config.data, paths.valAnn, paths.valImages, false, (s) => console.error(s));
  const ck = readCheckpoint(a.checkpoint);
  if (ck.state.labels && ck.state.labels.catIds.join() !== val.labels.catIds.join()) {
    throw new Error(`${a.checkpoint} was trained on category ids [${ck.state.labels.catIds}] but ${paths.valAnn} has [${val.labels.catIds}]`);
  }
  const model = buildDetectorFor(config.model, val.labels.catIds.length);
  restoreCheckpoint(ck, model, undefined, a.checkpoint);
  const loader = valLoader(config.data, config.eval.batchSize, val);
  const t0 = Date.now();
  const ev = await evaluateModel(model, loader, (d, n) => process.stderr.write(`\revaluating ${d}/${n}`));
  await loader.close();
  process.stderr.write(`\n${val.images.length} images in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (a.json) writeFileAtomic(a.json, JSON.stringify(ev.results) + '\n');
  const t = transformOf(config.data);
  const [h, w] = t.resize.mode === 'square' ? [t.resize.size, t.resize.size] : [t.resize.scale[1], t.resize.scale[0]];
  const div = config.data.sizeDivisor;
  const H = Math.ceil(h / div) * div, W = Math.ceil(w / div) * div;
  const cost = modelCost(model, H, W);
  const fps = await measureFps(model, H, W, config.eval.fpsIters);
  const files = writeReport(outDir, {
    mAP: ev.stats[0], fps: fps.inferenceFps, stats: ev.stats, perCategoryAP: ev.perCategoryAP, backend: info.name,
    params: cost.params, macs: cost.macs, inputSize: [H, W], config, fpsDetail: fps, checkpoint: path.resolve(a.checkpoint),
  }, ev.categoryNames);
  console.log(ev.lines.join('\n'));
  console.log(perCategoryTable(new Map(Object.entries(ev.perCategoryAP).map(([k, v]) => [Number(k), v])), ev.categoryNames).join('\n'));
  console.log(`FPS ${fps.inferenceFps} = ${fps.inferenceMs} ms an image (forward only ${fps.forwardFps} = ${fps.forwardMs} ms) at ${H}×${W}, batch 1, BN folded, on ${info.name}`);
  console.log(`report: ${files.json}, ${files.md}${a.json ? `; detections: ${a.json}` : ''}`);
}
