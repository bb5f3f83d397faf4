import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { buildDetector } from '../../detectors/build';
import { loadCoco } from '../../data/coco';
import { Batch, DataLoader } from '../../data/loader';
import { AdamW } from '../../train/adamw';
import { trainStep } from '../../train/step';
import { iouMatrix } from '../../ops/boxes';
import { tinyRetinaConfig, tinyShapes } from '../fixtures';

function twoImages(): Batch {
  const d = tinyShapes();
  const ds = loadCoco(d.trainAnn, { imagesDir: d.trainImages, filterEmpty: true, log: () => undefined });
  ds.images = ds.images.slice(0, 2);
  const loader = new DataLoader(ds, { batchSize: 2, train: false, transform: { resize: { mode: 'square', size: 128 }, sizeDivisor: 32 } });
  return [...loader.batches(0)][0];
}

describe('RetinaNet', function () {
  this.timeout(300000);

  it('channel counts come from FeatureSpecs: swapping backbone.name is the only edit', () => {
    for (const name of ['g_ghost_regnetx_002', 'ghostnet_050', 'ese_vovnet19b_slim_dw', 'resnet18']) {
      seedInit(0);
      const m = buildDetector({ ...tinyRetinaConfig(3), backbone: { name } });
      m.eval();
      const out = m.forward(tf.zeros([1, 64, 64, 3]));
      assert.deepEqual(out.cls.map((c) => c.shape), [[1, 8, 8, 27], [1, 4, 4, 27], [1, 2, 2, 27]], name);
      tf.dispose([...out.cls, ...out.reg]);
      m.dispose();
    }
  });

  it('GroupNorm head: mmdetection names (cls_convs.i.gn.*), convs without bias, 2·C parameters per norm', () => {
    seedInit(0);
    const gn = buildDetector({ ...tinyRetinaConfig(3), head: { featChannels: 32, stackedConvs: 2, gnGroups: 8 } });
    const names = gn.namedParameters().map((p) => p.name).filter((n) => n.startsWith('bbox_head.'));
    for (const b of ['cls_convs', 'reg_convs']) {
      for (const i of [0, 1]) {
        assert.ok(names.includes(`bbox_head.${b}.${i}.gn.weight`) && names.includes(`bbox_head.${b}.${i}.gn.bias`), `${b}.${i}.gn`);
        assert.ok(!names.includes(`bbox_head.${b}.${i}.conv.bias`), `${b}.${i}.conv has no bias`);
      }
    }
    const plain = buildDetector({ ...tinyRetinaConfig(3), head: { featChannels: 32, stackedConvs: 2 } });
    // 4 convs lose 32 bias each and 4 norms add 64 each.
    assert.equal(gn.numParams() - plain.numParams(), 4 * (64 - 32));
    gn.eval();
    const out = gn.forward(tf.zeros([1, 64, 64, 3]));
    assert.deepEqual(out.cls.map((c) => c.shape), [[1, 8, 8, 27], [1, 4, 4, 27], [1, 2, 2, 27]]);
    tf.dispose([...out.cls, ...out.reg]);
    [plain, gn].forEach((m) => m.dispose());
  });

  it('overfits 2 synthetic images: loss falls ≥ 90%, every box detected (IoU ≥ 0.7, right class, score > 0.5); gradients reach every parameter; tensors stay flat', async () => {
    seedInit(0);
    const batch = twoImages();
    const model = buildDetector(tinyRetinaConfig(3));
    const x = tf.tensor4d(batch.images, batch.shape);
    const opt = new AdamW({ lr: 0.002, weightDecay: 1e-4 });
    const vars = model.trainableVariables();
    model.train();
    // Gradients reach every trainable parameter on the first step.
    const { grads, value } = tf.variableGrads(() => {
      const l = model.loss(model.forward(x), batch.targets);
      return tf.add(l.loss_cls, l.loss_bbox) as tf.Scalar;
    }, vars);
    const names = new Map(model.namedParameters().map((p) => [p.variable.name, p.name]));
    const dead = vars.filter((v) => tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0]) === 0).map((v) => names.get(v.name));
    assert.deepEqual(dead, [], 'parameters without gradient');
    tf.dispose([value, ...Object.values(grads)]);
    let first = 0, last = 0, at5 = 0;
    for (let i = 1; i <= 70; i++) {
      const r = await trainStep(() => model.loss(model.forward(x), batch.targets), vars, opt, 35);
      if (i === 1) first = r.losses.loss;
      if (i === 5) at5 = tf.memory().numTensors;
      last = r.losses.loss;
    }
    assert.equal(tf.memory().numTensors, at5, 'tensor count grew between step 5 and step 70');
    assert.ok(last <= 0.1 * first, `loss ${first} → ${last}`);
    model.eval();
    const dets = await model.predict(model.forward(x), batch.metas);
    batch.targets.forEach((t, b) => {
      for (let g = 0; g < t.labels.length; g++) {
        const hit = dets[b].some((d) => d.label === t.labels[g] && d.score > 0.5 && iouMatrix(Float32Array.from(d.box), t.boxes.subarray(4 * g, 4 * g + 4))[0] >= 0.7);
        assert.ok(hit, `image ${b} box ${g} (class ${t.labels[g]}) not detected: ${JSON.stringify(dets[b].slice(0, 5))}`);
      }
    });
    // A batch gives the same detections as its images one by one.
    const one = [];
    for (const b of [0, 1]) one.push((await model.predict(model.forward(tf.slice(x, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D), [batch.metas[b]]))[0]);
    one.forEach((d, b) => {
      assert.equal(d.length, dets[b].length);
      d.forEach((det, k) => {
        assert.equal(det.label, dets[b][k].label);
        assert.ok(Math.abs(det.score - dets[b][k].score) < 1e-4);
        det.box.forEach((v, j) => assert.ok(Math.abs(v - dets[b][k].box[j]) < 1e-2));
      });
    });
    model.dispose();
    opt.dispose();
  });
});
