/** Small synthetic datasets made once per test run in a temp folder (never committed). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesize } from '../data/synthetic';
import type { ModelConfig } from '../detectors/build';

let dir: string | undefined;

/** A 12 + 4 image, 128 px shapes dataset (seed 3). */
export function tinyShapes(): { root: string; trainAnn: string; valAnn: string; trainImages: string; valImages: string } {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-shapes-'));
    synthesize({ out: dir, images: 12, val: 4, size: 128, seed: 3 });
  }
  return {
    root: dir, trainAnn: path.join(dir, 'annotations/instances_train.json'), valAnn: path.join(dir, 'annotations/instances_val.json'),
    trainImages: path.join(dir, 'train'), valImages: path.join(dir, 'val'),
  };
}

/** A narrow RetinaNet on the smallest G-Ghost model: what CPU tests can afford. */
export function tinyRetinaConfig(numClasses: number): ModelConfig {
  return {
    numClasses,
    backbone: { name: 'g_ghost_regnetx_002' },
    neck: { outChannels: 32, numOuts: 3 }, head: { featChannels: 32, stackedConvs: 1 },
    retinanet: { anchors: { octaveBaseScale: 2 }, assign: {}, loss: {}, test: {} },
    yolox: { simota: {}, loss: {}, test: {} },
  };
}

/** The same backbone and neck with a narrow YOLOX head. */
export function tinyYoloxConfig(numClasses: number): ModelConfig {
  const c = tinyRetinaConfig(numClasses);
  return { ...c, head: { type: 'yolox', featChannels: 32, stackedConvs: 1 } };
}

