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
    .option('resume', { describe: 'resume from a checkpoint; with no value, the newest in the work dir' })
    .option('launcher', { type: 'string', choices: ['none', 'mpi'], default: 'none', describe: 'mpi: one rank of a job started by mpirun or srun --mpi=pmix; ranks share each global batch (docs/distributed.md)' }),
  async (a) => (await import('./train')).runTrain({
    backend: a.backend as string, config: a.config, set: a.set, workDir: a['work-dir'], resume: a.resume as string | boolean | undefined, launcher: a.launcher as 'none' | 'mpi',
  }),
);

const cfg = (b: Argv): Argv<{ config: string; set: string[] | undefined }> => b
  .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'config json' })
  .option('set', { type: 'string', array: true, describe: 'override a config field: --set data.root=/data/coco (repeatable)' });

const evaluate: Register = (y) => y.command(
  'eval',
  'Evaluate a checkpoint on the val split: COCO stats, per-category AP, FPS → report.json and report.md',
  (b) => cfg(b)
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'a ghostdet checkpoint (.safetensors)' })
    .option('json', { type: 'string', describe: 'also write the detections as a COCO results file' })
    .option('out-dir', { type: 'string', describe: 'where the report goes (default: the checkpoint folder)' }),
  async (a) => (await import('./eval')).runEval({ backend: a.backend as string, config: a.config, set: a.set, checkpoint: a.checkpoint, json: a.json, outDir: a['out-dir'] }),
);

const predict: Register = (y) => y.command(
  'predict <images..>',
  'Draw detections on images (PNG out); with --gt, ground truth beside them; --onnx runs an exported model in ONNX Runtime',
  (b) => b
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'PNG or JPEG files' })
    .option('config', { alias: 'c', type: 'string', describe: 'config json (with --checkpoint)' })
    .option('set', { type: 'string', array: true, describe: 'override a config field: --set data.root=/data/coco (repeatable)' })
    .option('checkpoint', { type: 'string', describe: 'a ghostdet checkpoint (with --config)' })
    .option('onnx', { type: 'string', describe: 'a model.onnx from "ghostdet export --format onnx", run by ONNX Runtime instead of --config/--checkpoint' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
    .option('score', { type: 'number', default: 0.3, describe: 'draw detections with at least this score' })
    .option('json', { type: 'string', describe: 'also write every detection (the model\'s own score threshold) as a COCO results file' })
    .option('gt', { type: 'string', describe: 'COCO instances json of these images, to draw ground truth beside (and take image ids from)' })
    .check((a) => {
      if (a.onnx && (a.config || a.checkpoint)) throw new Error('give either --onnx, or --config with --checkpoint, not both');
      if (!a.onnx && !(a.config && a.checkpoint)) throw new Error('give --config and --checkpoint, or --onnx');
      return true;
    }),
  async (a) => (await import('./predict')).runPredict({
    backend: a.backend as string, config: a.config, set: a.set, checkpoint: a.checkpoint, onnx: a.onnx,
    images: a.images as string[], out: a.out, score: a.score, gt: a.gt, json: a.json,
  }),
);

const bench: Register = (y) => y.command(
  'bench',
  'Inference FPS of a config (batch 1, BN folded; with and without post-processing)',
  (b) => cfg(b)
    .option('checkpoint', { type: 'string', describe: 'weights (default: random init; speed does not depend on them)' })
    .option('iters', { type: 'number', default: 20, describe: 'timed iterations after 3 warm-up ones' }),
  async (a) => (await import('./bench')).runBench({ backend: a.backend as string, config: a.config, set: a.set, checkpoint: a.checkpoint, iters: a.iters }),
);

const data: Register = (y) => y.command('data', 'Dataset tools: synth, check', (b) => b
  .command('synth', 'Write the synthetic shapes dataset (PNG + COCO json, train and val)', (s) => s
    .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
    .option('images', { type: 'number', default: 512, describe: 'training images' })
    .option('val', { type: 'number', default: 64, describe: 'validation images' })
    .option('size', { type: 'number', default: 128, describe: 'square image side, pixels' })
    .option('seed', { type: 'number', default: 0 }),
  async (a) => (await import('./data')).runSynth(a))
  .command('check', 'Validate a COCO instances file and decode its images (worker threads); exit 1 only if unusable', (s) => s
    .option('ann', { type: 'string', demandOption: true, describe: 'instances json' })
    .option('images', { type: 'string', demandOption: true, describe: 'image folder' })
    .option('headers-only', { type: 'boolean', default: false, describe: 'read each image\'s header only (fast; misses truncated or corrupt data). Default: decode every image' })
    .option('workers', { type: 'number', describe: 'worker threads decoding images (default: one per core)' })
    .option('max-image-pixels', { type: 'number', default: 89_478_485, describe: 'images declaring more width × height are skipped before decoding (Pillow\'s limit)' })
    .option('json', { type: 'string', describe: 'also write the report as JSON' }),
  async (a) => (await import('./data')).runCheck({ ann: a.ann, images: a.images, json: a.json, headersOnly: a['headers-only'], workers: a.workers, maxImagePixels: a['max-image-pixels'] }))
  .demandCommand(1, 'Name a data command: synth or check'));

const convert: Register = (y) => y.command(
  'convert <input> <output>',
  'Convert a PyTorch checkpoint (.pth/.pt/.pth.tar/.bin, zip or legacy) or safetensors to a plain .safetensors state_dict (no tfjs needed)',
  (b) => b
    .positional('input', { type: 'string', demandOption: true, describe: 'torch.save file or .safetensors' })
    .positional('output', { type: 'string', demandOption: true, describe: 'the .safetensors file to write' })
    .option('key', { type: 'string', describe: `the state_dict's key in a training checkpoint (default: the first of ${['state_dict', 'model', 'model_state', 'model_state_dict', 'state_dict_ema', 'model_ema', 'ema'].join(', ')}, or the bare dict)` }),
  async (a) => (await import('./convert')).runConvert({ input: a.input as string, output: a.output as string, key: a.key }),
);

const exportCmd: Register = (y) => y.command(
  'export',
  'Export a checkpoint: a static web page (wasm or webgl, the same model code), or an ONNX model with decode and NMS inside',
  (b) => cfg(b)
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'a ghostdet checkpoint (.safetensors)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (web: index.html, app.js, model.json, weights, wasm files; onnx: model.onnx)' })
    .option('format', { type: 'string', choices: ['web', 'onnx'], default: 'web', describe: 'what to write' })
    .option('score', { type: 'number', default: 0.3, describe: 'web: the score threshold the page\'s slider starts at' })
    .option('input-size', { type: 'string', describe: 'onnx: input HxW, e.g. 800x1344 (default: a square every image the config\'s resize makes fits in)' })
    .option('postprocess', { type: 'boolean', default: true, describe: 'onnx: decode + NMS inside (outputs dets, labels); --no-postprocess exports the raw head maps' })
    .option('opset', { type: 'number', default: 13, describe: 'onnx: opset version, 13 to 17' }),
  async (a) => (await import('./export')).runExport({
    backend: a.backend as string, config: a.config, set: a.set, checkpoint: a.checkpoint, out: a.out, score: a.score,
    format: a.format as 'web' | 'onnx', inputSize: a['input-size'], postprocess: a.postprocess, opset: a.opset,
  }),
);

const serve: Register = (y) => y.command(
  'serve <dir>',
  'Serve an exported page (static files; 127.0.0.1 unless --host is given)',
  (b) => b
    .positional('dir', { type: 'string', demandOption: true, describe: 'the folder ghostdet export wrote' })
    .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind; 0.0.0.0 exposes the page to the network' })
    .option('quiet', { type: 'boolean', default: false, describe: 'do not log requests' }),
  async (a) => (await import('./serve')).runServe({ dir: a.dir as string, port: a.port, host: a.host, quiet: a.quiet }),
);

export const commands: Register[] = [train, evaluate, predict, bench, info, cocoeval, convert, exportCmd, serve, data];
