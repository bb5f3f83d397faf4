// The commands end to end: `ghostdet export --format onnx` on a checkpoint,
// then `predict --onnx … --json` gives predict's own detections (on the main
// job's square images, where both see the same input), and the errors a user
// meets: an unknown --format, a file that is not ONNX, an ONNX model that is
// not ghostdet's, and one whose inputs do not match its metadata.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { loadConfig } from '../../configs/schema';
import { saveCheckpoint } from '../../train/checkpoint';
import { synthesize } from '../../data/synthetic';
import { runExport } from '../../cli/export';
import { runPredict } from '../../cli/predict';
import { OnnxGraph } from '../../onnx/onnx_graph';
import type { CocoDetection } from '../../eval/evaluate_model';
import { seededDetector } from './onnx_helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CONFIG = path.join(ROOT, 'configs', 'retinanet_gghost_cpu_shapes.json');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');

function cli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('onnx: export --format onnx and predict --onnx', function () {
  this.timeout(300_000);
  let dir: string, checkpoint: string, modelFile: string, images: string[];

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-onnx-cli-'));
    synthesize({ out: path.join(dir, 'data'), images: 1, val: 4, size: 128, seed: 5 });
    images = fs.readdirSync(path.join(dir, 'data', 'val')).sort().map((f) => path.join(dir, 'data', 'val', f));
    const { config } = loadConfig(CONFIG);
    const model = seededDetector('retinanet_gghost_cpu_shapes.json', 123, false);
    checkpoint = path.join(dir, 'seeded.safetensors');
    await saveCheckpoint(checkpoint, model, undefined, { epoch: 0, batchInEpoch: 0, iter: 0, config, labels: { catIds: [1, 2, 3], names: ['circle', 'square', 'triangle'] } });
    model.dispose();
    await runExport({ backend: 'wasm', config: CONFIG, checkpoint, out: path.join(dir, 'onnx'), score: 0.3, format: 'onnx' });
    modelFile = path.join(dir, 'onnx', 'model.onnx');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('predict --onnx --json gives predict --json\'s detections', async function () {
    const viaOnnx = path.join(dir, 'onnx.json'), viaTfjs = path.join(dir, 'tfjs.json');
    await runPredict({ onnx: modelFile, images, out: path.join(dir, 'pred-onnx'), score: 0.3, json: viaOnnx });
    await runPredict({ backend: 'wasm', config: CONFIG, checkpoint, images, out: path.join(dir, 'pred-tfjs'), score: 0.3, json: viaTfjs });
    const got = JSON.parse(fs.readFileSync(viaOnnx, 'utf8')) as CocoDetection[];
    const want = JSON.parse(fs.readFileSync(viaTfjs, 'utf8')) as CocoDetection[];
    assert.ok(want.length > 20, `the seeded model detects (${want.length})`);
    assert.equal(got.length, want.length);
    const used = new Set<number>();
    for (const d of want) {
      const j = got.findIndex((g, k) => !used.has(k) && g.image_id === d.image_id && g.category_id === d.category_id &&
        Math.abs(g.score - d.score) <= 1e-4 && g.bbox.every((v, i) => Math.abs(v - d.bbox[i]) <= 1e-2));
      assert.ok(j >= 0, `${JSON.stringify(d)} has no ONNX counterpart`);
      used.add(j);
    }
    // COCO ids from the synthetic file names; one drawing per image.
    assert.deepEqual([...new Set(got.map((d) => d.image_id))].sort(), [...new Set(want.map((d) => d.image_id))].sort());
    for (const f of images) assert.ok(fs.existsSync(path.join(dir, 'pred-onnx', path.basename(f).replace(/\.png$/, '.png'))));
  });

  it('an unknown --format lists the choices', function () {
    const r = cli(['export', '-c', CONFIG, '--checkpoint', checkpoint, '--out', path.join(dir, 'x'), '--format', 'tflite']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /Choices: "web", "onnx"/);
  });

  it('predict --onnx on a file that is not ONNX says so', function () {
    const r = cli(['predict', '--onnx', images[0], images[0], '--out', path.join(dir, 'y')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /not an ONNX model/);
    assert.ok(r.out.includes(images[0]), 'names the file');
    assert.doesNotMatch(r.out, /\n\s+at /, 'no stack trace');
  });

  it('predict --onnx on an ONNX model that is not a ghostdet export says so', function () {
    const g = new OnnxGraph();
    g.output(g.input('x', 'float', [1, 3]), 'y', 'float', [1, 3]);
    const file = path.join(dir, 'identity.onnx');
    fs.writeFileSync(file, g.encode({ opset: 13, producerVersion: '0', docString: '', metadata: {} }));
    const r = cli(['predict', '--onnx', file, images[0], '--out', path.join(dir, 'y')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /identity\.onnx: not a ghostdet ONNX export/);
  });

  it('predict --onnx on a model whose input does not match its metadata says which', function () {
    const m = onnx.ModelProto.decode(fs.readFileSync(modelFile));
    m.graph!.input![0].type!.tensorType!.shape!.dim![2] = onnx.TensorShapeProto.Dimension.create({ dimValue: 32 });
    const file = path.join(dir, 'mismatch.onnx');
    fs.writeFileSync(file, onnx.ModelProto.encode(m).finish());
    const r = cli(['predict', '--onnx', file, images[0], '--out', path.join(dir, 'y')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /mismatch\.onnx: its inputs \(images: float32 \[N, 3, 32, 128\]\) do not match .*\(images: float32 \[N, 3, 128, 128\]\)/);
  });

  it('predict needs --onnx or --config with --checkpoint', function () {
    const r = cli(['predict', images[0], '--out', path.join(dir, 'y')]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /give --config and --checkpoint, or --onnx/);
  });
});
