/**
 * The sub-command table. Each entry declares its options here (so `--help` is
 * complete without loading heavy modules) and imports its implementation lazily.
 */
import type { Argv } from 'yargs';

type Register = (y: Argv) => Argv;

const info: Register = (y) => y.command(
  'info',
  'Print the backend, and a backbone\'s parameters, MACs and output specs',
  (b) => b
    .option('backbone', { type: 'string', describe: 'backbone name (see --list)' })
    .option('config', { alias: 'c', type: 'string', describe: 'a detector config: print the resolved config, parameters, MACs and level specs' })
    .option('set', { type: 'string', array: true, describe: 'config overrides a.b=value (with --config)' })
    .option('input', { type: 'number', default: 224, describe: 'square input size (pixels) for the MAC count' })
    .option('list', { type: 'boolean', default: false, describe: 'list the backbone names' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' }),
  async (a) => (await import('./info')).runInfo(a),
);

const cocoeval: Register = (y) => y.command(
  'cocoeval',
  'COCO bbox evaluation of a results file against ground truth (pycocotools-exact; no tfjs needed)',
  (b) => b
    .option('gt', { type: 'string', demandOption: true, describe: 'ground-truth COCO instances json' })
    .option('dt', { type: 'string', demandOption: true, describe: 'results json: [{image_id, category_id, bbox: [x,y,w,h], score}]' })
    .option('use-cats', { type: 'number', choices: [0, 1], default: 1, describe: 'evaluate per category (1) or class-agnostic (0)' })
    .option('json', { type: 'string', describe: 'also write {"stats": [12], "perCategoryAP": {id: ap}} to this file' }),
  async (a) => (await import('./cocoeval')).runCocoeval({ gt: a.gt, dt: a.dt, useCats: a['use-cats'] === 1, json: a.json }),
);

const train: Register = (y) => y.command(
  'train',
  'Train a detector; with no -c, the main job (synthetic data → G-Ghost RetinaNet → mAP and FPS report)',
  (b) => b
    .option('config', { alias: 'c', type: 'string', describe: 'config json (default: configs/retinanet_gghost_cpu_shapes.json, the main job)' })
    .option('set', { type: 'string', array: true, describe: 'override a config field, coerced to its type: --set train.epochs=2 (repeatable)' })
    .option('work-dir', { type: 'string', describe: 'where data, logs, checkpoints and the report go (default work_dirs/<config name>)' })
    .option('resume', { describe: 'resume from a checkpoint; with no value, the newest in the work dir' }),
  async (a) => (await import('./train')).runTrain({ backend: a.backend as string, config: a.config, set: a.set, workDir: a['work-dir'], resume: a.resume as string | boolean | undefined }),
);

export const commands: Register[] = [train, info, cocoeval];
