/** `ghostdet bench -c CONFIG`: FPS alone (random weights unless --checkpoint), batch 1, with and without post-processing. */
import { loadConfig } from '../configs/schema';
import { readCheckpoint, restoreCheckpoint } from '../train/checkpoint';
import { buildDetectorFor } from '../detectors/build';
import { transformOf } from '../data/from_config';
import { measureFps } from '../eval/fps';
import { modelCost } from '../eval/report';
import { setupBackend } from './setup_backend';

export interface BenchArgs { backend?: string; config: string; set?: string[]; checkpoint?: string; iters: number }

export async function runBench(a: BenchArgs): Promise<void> {
  const info = await setupBackend(a.backend);
  const { config } = loadConfig(a.config, a.set ?? []);
  const model = buildDetectorFor(config.model, config.model.numClasses);
  if (a.checkpoint) restoreCheckpoint(readCheckpoint(a.checkpoint), model, undefined, a.checkpoint);
  const t = transformOf(config.data), div = config.data.sizeDivisor;
  const [h, w] = t.resize.mode === 'square' ? [t.resize.size, t.resize.size] : [t.resize.scale[1], t.resize.scale[0]];
  const H = Math.ceil(h / div) * div, W = Math.ceil(w / div) * div;
  const cost = modelCost(model, H, W);
  const fps = await measureFps(model, H, W, a.iters);
  console.log(JSON.stringify({ backend: info.name, backbone: config.model.backbone.name, params: cost.params, macs: cost.macs, ...fps }));
}
