import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { createBackbone } from '../../backbones/index';
import { loadPretrained } from '../../backbones/pretrained';
import { readSafetensors } from '../../weights/safetensors';
import { loadSafetensors } from '../../nn/state_dict';
import { buildDetector } from '../../detectors/build';
import { saveCheckpoint } from '../../train/checkpoint';
import { trainStep } from '../../train/step';
import { Sgd } from '../../train/sgd';
import { needFixture, seeded } from '../helpers';
import { tinyRetinaConfig } from '../fixtures';


function nhwc(data: Float32Array, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor(data, shape), [0, 2, 3, 1])) as unknown as tf.Tensor4D;
}
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('pretrained backbone weights from PyTorch checkpoints', function () {
  this.timeout(120000);

  it('GhostNet from a DataParallel .pth.tar gives the reference PyTorch forward (1e-4 of max-abs)', function () {
    const m = createBackbone('ghostnet_050');
    try {
      const r = loadPretrained(m, needFixture(this, 'fixtures/checkpoints/ghostnet_050_dataparallel.pth.tar'));
      assert.equal(r.loaded, m.namedTensors().length);
      assert.match(r.summary, /loaded \d+ tensors .*state_dict from "state_dict".*module\./);
      m.eval();
      const io = readSafetensors(needFixture(this, 'fixtures/backbones/ghostnet_050/io.safetensors')).tensors;
      const input = io.get('input')!, ref = io.get('logits')!;
      const { logits } = m.forwardAll(nhwc(input.data as Float32Array, input.shape));
      const refT = tf.tensor(ref.data as Float32Array, ref.shape);
      const err = maxAbsDiff(logits, refT) / tf.tidy(() => tf.max(tf.abs(refT)).dataSync()[0]);
      assert.ok(err <= 1e-4, `logits relative error ${err}`);
    } finally {
      m.dispose();
    }
  });

  it('the legacy .pth and the zip .pth.tar load to identical weights', function () {
    const a = createBackbone('ghostnet_050', { withClassifier: false }), b = createBackbone('ghostnet_050', { withClassifier: false });
    try {
      loadPretrained(a, needFixture(this, 'fixtures/checkpoints/ghostnet_050_legacy.pth'));
      loadPretrained(b, needFixture(this, 'fixtures/checkpoints/ghostnet_050_dataparallel.pth.tar'));
      const tb = new Map(b.namedTensors().map((t) => [t.name, t.variable]));
      for (const t of a.namedTensors()) assert.equal(maxAbsDiff(t.variable, tb.get(t.name)!), 0, t.name);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a float16 pytorch_model.bin gives the same forward as its safetensors twin; classifier dropped for detection', function () {
    const a = createBackbone('ese_vovnet19b_slim', { withClassifier: false }), b = createBackbone('ese_vovnet19b_slim', { withClassifier: false });
    try {
      const r = loadPretrained(a, needFixture(this, 'fixtures/checkpoints/ese_vovnet19b_slim_fp16.bin'));
      assert.match(r.summary, /classifier dropped \(head\.fc\.weight, head\.fc\.bias\)/);
      loadPretrained(b, needFixture(this, 'fixtures/checkpoints/ese_vovnet19b_slim_fp16.safetensors'));
      a.eval();
      b.eval();
      const x = tf.tensor4d(seeded(2 * 64 * 64 * 3, 5), [2, 64, 64, 3]);
      const fa = a.forward(x), fb = b.forward(x);
      fa.forEach((t, i) => assert.equal(maxAbsDiff(t, fb[i]), 0, `output ${i}`));
      tf.dispose([x, ...fa, ...fb]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a checkpoint of another model fails naming the key and both shapes, and leaves the weights untouched', function () {
    const m = createBackbone('ghostnet_100', { withClassifier: false });
    try {
      const before = m.namedTensors()[0].variable.dataSync().slice();
      assert.throws(() => loadPretrained(m, needFixture(this, 'fixtures/checkpoints/ghostnet_050_legacy.pth')), (e: Error) => {
        assert.match(e.message, /ghostnet_050_legacy\.pth: error loading state dict/);
        assert.match(e.message, /conv_stem\.weight: checkpoint \[8,3,3,3\], model \[16,3,3,3\]/);
        return true;
      });
      assert.deepEqual(m.namedTensors()[0].variable.dataSync(), before);
    } finally {
      m.dispose();
    }
  });

  it('a backbone of another family fails strictly with missing and unexpected keys', function () {
    const m = createBackbone('g_ghost_regnetx_002', { withClassifier: false });
    try {
      assert.throws(() => loadPretrained(m, needFixture(this, 'fixtures/checkpoints/ghostnet_050_legacy.pth')), /shape mismatches \(\d+\): bn1\.weight: checkpoint \[8\], model \[32\][\s\S]*missing keys \(\d+\): conv1\.weight[\s\S]*unexpected keys \(\d+\): conv_stem\.weight/);
    } finally {
      m.dispose();
    }
  });

  it('a ghostdet detector checkpoint gives its "backbone." tensors', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-pre-'));
    const det = buildDetector(tinyRetinaConfig(3));
    const fresh = createBackbone('g_ghost_regnetx_002', { withClassifier: false });
    try {
      // Make the detector's backbone differ from a fresh init.
      for (const t of det.backbone.namedTensors()) t.variable.assign(tf.tidy(() => tf.add(t.variable, 0.25)));
      const file = path.join(dir, 'det.safetensors');
      await saveCheckpoint(file, det, undefined, { epoch: 1, batchInEpoch: 0, iter: 10, config: {} });
      const r = loadPretrained(fresh, file);
      assert.match(r.summary, /a detector checkpoint: took the \d+ "backbone\." tensors/);
      const want = new Map(det.backbone.namedTensors().map((t) => [t.name, t.variable]));
      for (const t of fresh.namedTensors()) assert.equal(maxAbsDiff(t.variable, want.get(t.name)!), 0, t.name);
      assert.ok(r.dropped.some((k) => k.startsWith('bbox_head.')));
    } finally {
      det.dispose();
      fresh.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadSafetensors still loads the reference weights strictly (unchanged path)', function () {
    const m = createBackbone('ghostnet_050');
    try {
      loadSafetensors(m, needFixture(this, 'fixtures/backbones/ghostnet_050/weights.safetensors'), { strict: true });
    } finally {
      m.dispose();
    }
  });
});

describe('fine-tuning controls: normEval and backbone LR multiplier', function () {
  this.timeout(120000);

  const batch = (): { x: tf.Tensor4D; targets: Array<{ boxes: Float32Array; labels: Int32Array; ignore: Float32Array }> } => ({
    x: tf.tensor4d(seeded(2 * 64 * 64 * 3, 11), [2, 64, 64, 3]),
    targets: [0, 1].map((i) => ({ boxes: new Float32Array([8 + i, 8, 40, 44 - i]), labels: new Int32Array([i]), ignore: new Float32Array(0) })),
  });

  it('normEval: backbone BN statistics stay as loaded while every other parameter trains', async function () {
    const cfg = tinyRetinaConfig(3);
    cfg.backbone = { ...cfg.backbone, normEval: true, frozenStages: -1 };
    const det = buildDetector(cfg);
    const { x, targets } = batch();
    try {
      det.train();
      const snap = (): Map<string, Float32Array> => new Map(det.namedTensors().map((t) => [t.name, t.variable.dataSync().slice() as Float32Array]));
      const before = snap();
      const opt = new Sgd({ lr: 0.01, momentum: 0.9 });
      for (let i = 0; i < 2; i++) await trainStep(() => det.loss(det.forward(x), targets), det.trainableVariables(), opt);
      const after = snap();
      const changed = (k: string): boolean => after.get(k)!.some((v, i) => v !== before.get(k)![i]);
      const stats = [...before.keys()].filter((k) => k.startsWith('backbone.') && /running_(mean|var)$/.test(k));
      assert.ok(stats.length > 10);
      for (const k of stats) assert.equal(changed(k), false, `${k} changed`);
      for (const k of ['backbone.conv1.weight', 'backbone.bn1.weight', 'neck.lateral_convs.0.conv.weight', 'bbox_head.retina_cls.weight']) {
        assert.ok(before.has(k), `no ${k}`);
        assert.equal(changed(k), true, `${k} did not train`);
      }
      opt.dispose();
    } finally {
      tf.dispose([x]);
      det.dispose();
    }
  });

  it('without normEval the same step moves the BN statistics (the test above can fail)', async function () {
    const det = buildDetector(tinyRetinaConfig(3));
    const { x, targets } = batch();
    try {
      det.train();
      const bn = det.namedTensors().find((t) => t.name === 'backbone.bn1.running_mean')!;
      const before = bn.variable.dataSync().slice();
      const opt = new Sgd({ lr: 0.01 });
      await trainStep(() => det.loss(det.forward(x), targets), det.trainableVariables(), opt);
      assert.notDeepEqual(bn.variable.dataSync(), before);
    } finally {
      tf.dispose([x]);
      det.dispose();
    }
  });

  it('lrMult scales one variable\'s step (0 keeps it, 0.5 halves it) as PyTorch parameter groups', function () {
    const a = tf.variable(tf.tensor1d([1, 1])), b = tf.variable(tf.tensor1d([1, 1])), c = tf.variable(tf.tensor1d([1, 1]));
    const g = tf.tensor1d([1, -2]);
    const opt = new Sgd({ lr: 0.1, lrMult: new Map([[a, 0], [b, 0.5]]) });
    opt.step([a, b, c], [g, g, g]);
    assert.deepEqual([...a.dataSync()], [1, 1]);
    assert.deepEqual([...b.dataSync()].map((v) => +v.toFixed(6)), [0.95, 1.1]);
    assert.deepEqual([...c.dataSync()].map((v) => +v.toFixed(6)), [0.9, 1.2]);
    tf.dispose([a, b, c, g]);
  });
});
