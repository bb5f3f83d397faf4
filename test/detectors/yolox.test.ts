import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { buildDetector, ModelConfig } from '../../detectors/build';
import { Yolox } from '../../detectors/yolox';
import { YoloxHead } from '../../heads/yolox_head';
import { simOtaAssign } from '../../ops/simota';
import { loadCoco } from '../../data/coco';
import { DataLoader } from '../../data/loader';
import { AdamW } from '../../train/adamw';
import { trainStep } from '../../train/step';
import { tinyRetinaConfig, tinyShapes, tinyYoloxConfig } from '../fixtures';

const close = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

describe('YOLOX head: mmdetection YOLOXHead names and parameter count', () => {
  it('equals the closed-form count for in 48, feat 32, 2 stacked convs, 5 classes, 3 levels', () => {
    const inC = 48, feat = 32, n = 2, K = 5, L = 3;
    const head = new YoloxHead({ inChannels: inC, numClasses: K, numLevels: L, featChannels: feat, stackedConvs: n });
    // One branch: a 3×3 ConvModule (no conv bias) + BN (weight, bias) per stacked conv.
    const branch = (inC * feat * 9 + 2 * feat) + (n - 1) * (feat * feat * 9 + 2 * feat); // 13,888 + 9,280 = 23,168
    // 1×1 convs with bias: cls (K), reg (4), obj (1).
    const outs = (feat * K + K) + (feat * 4 + 4) + (feat * 1 + 1); // 165 + 132 + 33 = 330
    const perLevel = 2 * branch + outs; // 46,666
    assert.equal(branch, 23168);
    assert.equal(perLevel, 46666);
    assert.equal(head.numParams(), L * perLevel); // 139,998
    const names = head.namedTensors().map((t) => t.name);
    for (const k of ['multi_level_cls_convs.0.0.conv.weight', 'multi_level_cls_convs.2.1.bn.running_var', 'multi_level_reg_convs.1.0.bn.weight',
      'multi_level_conv_cls.0.weight', 'multi_level_conv_reg.1.bias', 'multi_level_conv_obj.2.bias']) assert.ok(names.includes(k), k);
    assert.ok(!names.includes('multi_level_cls_convs.0.0.conv.bias'), 'ConvModule before BN has no bias');
    // Biases of cls and obj start at −log((1 − 0.01)/0.01).
    const b = head.namedTensors().find((t) => t.name === 'multi_level_conv_obj.0.bias')!.variable.dataSync()[0];
    close(b, -Math.log(99));
    head.dispose();
  });

  it('gnGroups puts GroupNorm in the stacked convs (mmdetection norm_cfg=GN: `.gn.*`), same parameter count', () => {
    const bn = new YoloxHead({ inChannels: 48, numClasses: 5, numLevels: 3, featChannels: 32, stackedConvs: 2 });
    const gn = new YoloxHead({ inChannels: 48, numClasses: 5, numLevels: 3, featChannels: 32, stackedConvs: 2, gnGroups: 8 });
    const names = gn.namedTensors().map((t) => t.name);
    assert.ok(names.includes('multi_level_cls_convs.0.0.gn.weight') && !names.some((n) => n.includes('.bn.')));
    assert.equal(gn.numParams(), bn.numParams());
    [bn, gn].forEach((h) => h.dispose());
  });
});

describe('SimOTA assignment on hand-built cases', () => {
  // Priors as (cx, cy, stride, stride); scores for 2 classes.
  const p = (...xy: number[]): Float32Array => Float32Array.from(xy.flatMap((v, i) => (i % 2 ? [v, 8, 8] : [v])));

  it('a prior inside one box only is matched to that box', () => {
    const priors = p(12, 12, 100, 100);
    const boxes = Float32Array.of(4, 4, 20, 20, 92, 92, 108, 108);
    const r = simOtaAssign(priors, boxes, new Float32Array(4).fill(0.5), 2, Float32Array.of(4, 4, 20, 20), Int32Array.of(0));
    assert.deepEqual([...r.assigned], [0, -1]);
    close(r.ious[0], 1);
    assert.equal(r.numPos, 1);
  });

  it('two boxes competing for one prior: the lower cost wins', () => {
    const priors = p(20, 20);
    const boxes = Float32Array.of(12, 12, 28, 28);
    // gt 0 overlaps the prediction better; gt 1 has the class the prediction scores high.
    const gts = Float32Array.of(10, 10, 30, 30, 14, 14, 40, 40);
    const scoresFavour0 = Float32Array.of(0.5, 0.5);
    let r = simOtaAssign(priors, boxes, scoresFavour0, 2, gts, Int32Array.of(0, 1));
    assert.deepEqual([...r.assigned], [0], 'equal class scores: the better IoU (gt 0) is cheaper');
    // A strong class preference for gt 1's class outweighs the IoU difference.
    const scoresFavour1 = Float32Array.of(0.01, 0.99);
    const iou0 = 256 / 400, iou1 = (14 * 14) / (256 + 26 * 26 - 14 * 14);
    const cost = (pc: number, po: number, iou: number): number => -Math.log(pc) - Math.log(1 - po) + 3 * -Math.log(iou + 1e-7);
    assert.ok(cost(0.99, 0.01, iou1) < cost(0.01, 0.99, iou0), 'the case is built so that gt 1 is cheaper');
    r = simOtaAssign(priors, boxes, scoresFavour1, 2, gts, Int32Array.of(0, 1));
    assert.deepEqual([...r.assigned], [1]);
    close(r.ious[0], iou1);
  });

  it('dynamic k = ⌊Σ top-10 IoUs⌋: four priors with IoU 0.75 give k = 3', () => {
    // Four predictions of IoU 0.75 with the gt [0,0,40,40] (each 40×30), priors inside the box and centre region.
    const priors = p(10, 10, 30, 10, 10, 30, 30, 30);
    const boxes = Float32Array.of(0, 0, 40, 30, 0, 0, 40, 30, 0, 10, 40, 40, 0, 10, 40, 40);
    const scores = Float32Array.of(0.5, 0.5, 0.6, 0.5, 0.55, 0.5, 0.7, 0.5);
    const r = simOtaAssign(priors, boxes, scores, 2, Float32Array.of(0, 0, 40, 40), Int32Array.of(0));
    assert.equal(r.numPos, 3);
    // Equal IoU cost: the class cost ranks them; the prior scoring 0.5 on class 0 is the costliest.
    assert.deepEqual([...r.assigned], [-1, 0, 0, 0]);
    for (const i of [1, 2, 3]) close(r.ious[i], 0.75);
  });

  it('no gt, or no prior in any box or centre region: no positives', () => {
    const priors = p(12, 12);
    assert.equal(simOtaAssign(priors, Float32Array.of(4, 4, 20, 20), Float32Array.of(0.5, 0.5), 2, new Float32Array(0), new Int32Array(0)).numPos, 0);
    const far = simOtaAssign(priors, Float32Array.of(4, 4, 20, 20), Float32Array.of(0.5, 0.5), 2, Float32Array.of(200, 200, 210, 210), Int32Array.of(1));
    assert.deepEqual([...far.assigned], [-1]);
  });
});

describe('YOLOX losses and targets', function () {
  this.timeout(120000);
  const yolox = (K: number): Yolox => buildDetector({ ...tinyYoloxConfig(K), yolox: { simota: {}, loss: {}, test: {} } }) as Yolox;

  /** One 2×2 level at stride 8, all logits and offsets 0 (σ = 0.5, every decoded box 8×8 around its point). */
  const zeros = (K: number): { cls: tf.Tensor4D[]; reg: tf.Tensor4D[]; obj: tf.Tensor4D[] } => ({
    cls: [tf.zeros([1, 2, 2, K])], reg: [tf.zeros([1, 2, 2, 4])], obj: [tf.zeros([1, 2, 2, 1])],
  });

  it('loss values equal the hand derivation on a 4-prior case', () => {
    const m = yolox(2);
    // Make the detector's first level stride 8 as the hand case assumes.
    assert.equal(m.neck.outputs[0].stride, 8);
    const out = { ...zeros(2) };
    const gt = [{ boxes: Float32Array.of(0, 0, 16, 16), labels: Int32Array.of(0), ignore: new Float32Array(0) }];
    // Priors (0,0) (8,0) (0,8) (8,8); decoded boxes are 8×8 around them: IoUs with the gt 16/304, 32/288, 32/288, 64/256.
    // Σ IoU = 0.525 → k = 1; equal class costs → the best IoU (prior 3, IoU 0.25) is the positive.
    let l = m.loss(out, gt);
    const v = (k: string): number => l[k].dataSync()[0];
    close(v('loss_cls'), 2 * Math.log(2));          // BCE(0, [0.25, 0]) = log 2 per class, whatever the target
    close(v('loss_obj'), 4 * Math.log(2));          // 4 priors at logit 0
    close(v('loss_bbox'), 5 * (1 - 0.25 ** 2));     // square IoU loss, weight 5
    assert.equal(l.loss_l1, undefined);
    tf.dispose(Object.values(l));
    m.trainFlags.l1 = true;
    l = m.loss(out, gt);
    close(v('loss_l1'), 2 * Math.log(2));           // target (0, 0, log 2, log 2) for prior 3; offsets 0
    tf.dispose(Object.values(l));
    // Targets: the class target is one-hot × IoU.
    const t = m.buildTargets(m.priors(out).all, new Float32Array(8), new Float32Array(16), new Float32Array(4), gt);
    assert.deepEqual([...t.pos], [0, 0, 0, 1]);
    close(t.cls[3 * 2], 0.25);
    assert.equal(t.cls[3 * 2 + 1], 0);
    tf.dispose([...out.cls, ...out.reg, ...out.obj]);
    m.dispose();
  });

  it('an image without boxes: every objectness target 0, no class or box loss; crowd regions get no objectness loss', () => {
    const m = yolox(2);
    const out = zeros(2);
    const empty = [{ boxes: new Float32Array(0), labels: new Int32Array(0), ignore: new Float32Array(0) }];
    let l = m.loss(out, empty);
    assert.equal(l.loss_cls.dataSync()[0], 0);
    assert.equal(l.loss_bbox.dataSync()[0], 0);
    close(l.loss_obj.dataSync()[0], 4 * Math.log(2));
    tf.dispose(Object.values(l));
    // A crowd region covering the centres (4,4) and (12,4): those two priors drop out of the objectness loss.
    const crowd = [{ boxes: new Float32Array(0), labels: new Int32Array(0), ignore: Float32Array.of(0, 0, 16, 8) }];
    l = m.loss(out, crowd);
    close(l.loss_obj.dataSync()[0], 2 * Math.log(2));
    tf.dispose(Object.values(l));
    tf.dispose([...out.cls, ...out.reg, ...out.obj]);
    m.dispose();
  });

  it('gradients are finite and reach every branch, even with huge offsets on background priors', () => {
    const m = yolox(2);
    const vc = tf.variable(tf.zeros([1, 2, 2, 2])), vr = tf.variable(tf.tensor4d([0, 0, 0, 0, 0, 0, 200, 200, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 4])), vo = tf.variable(tf.zeros([1, 2, 2, 1]));
    const [cls, reg, obj] = [vc, vr, vo] as unknown as tf.Tensor4D[];
    const gt = [{ boxes: Float32Array.of(0, 0, 16, 16), labels: Int32Array.of(1), ignore: new Float32Array(0) }];
    m.trainFlags.l1 = true;
    const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(m.loss({ cls: [cls], reg: [reg], obj: [obj] }, gt))) as tf.Scalar, [vc, vr, vo]);
    for (const g of Object.values(grads)) assert.ok([...g.dataSync()].every(Number.isFinite), 'finite gradient');
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const v of [vc, vr, vo]) assert.ok(tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0]) > 0, `${v.name} gets a gradient`);
    tf.dispose([value, ...Object.values(grads), vc, vr, vo]);
    m.dispose();
  });

  it('30 training steps on tiny synthetic data: the loss falls and tensors stay flat', async () => {
    seedInit(0);
    const d = tinyShapes();
    const ds = loadCoco(d.trainAnn, { imagesDir: d.trainImages, filterEmpty: true, log: () => undefined });
    const loader = new DataLoader(ds, { batchSize: 4, train: true, seed: 0, transform: { resize: { mode: 'square', size: 64 }, sizeDivisor: 32 } });
    const m = buildDetector(tinyYoloxConfig(3));
    const vars = m.trainableVariables();
    const opt = new AdamW({ lr: 0.01, weightDecay: 1e-4 });
    m.train();
    const losses: number[] = [];
    let at5 = 0;
    for (let epoch = 0, step = 0; step < 30; epoch++) {
      for (const b of loader.batches(epoch)) {
        const x = tf.tensor4d(b.images, b.shape);
        losses.push((await trainStep(() => m.loss(m.forward(x), b.targets), vars, opt, 35)).losses.loss);
        x.dispose();
        if (++step === 5) at5 = tf.memory().numTensors;
        if (step === 30) break;
      }
    }
    assert.equal(tf.memory().numTensors, at5, 'tensor count grew between step 5 and step 30');
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    // Measured: 10.1 → 8.1 over these 30 steps (the 5·IoU term dominates and falls steadily, not fast).
    assert.ok(mean(losses.slice(-5)) < 0.85 * mean(losses.slice(0, 5)), `loss ${mean(losses.slice(0, 5))} → ${mean(losses.slice(-5))}`);
    m.dispose();
    opt.dispose();
  });
});

describe('config swap: every backbone family × {retinanet, yolox} × {fpn, pafpn}', function () {
  this.timeout(300000);
  for (const name of ['ghostnet_050', 'g_ghost_regnetx_002', 'ese_vovnet19b_slim_dw', 'vovnet39a', 'resnet18']) {
    it(name, () => {
      for (const head of ['retinanet', 'yolox'] as const) {
        for (const neck of ['fpn', 'pafpn'] as const) {
          seedInit(0);
          const c: ModelConfig = { ...tinyRetinaConfig(3), backbone: { name }, neck: { type: neck, outChannels: 32, numOuts: 3, numCspBlocks: 1 }, head: { type: head, featChannels: 32, stackedConvs: 1 } };
          const m = buildDetector(c);
          m.eval();
          const out = m.forward(tf.zeros([1, 64, 64, 3]));
          const perLevel = head === 'yolox' ? 3 : 27;
          assert.deepEqual(out.cls.map((t) => t.shape), [[1, 8, 8, perLevel], [1, 4, 4, perLevel], [1, 2, 2, perLevel]], `${name} ${head} ${neck}`);
          if (head === 'yolox') assert.deepEqual(out.obj.map((t) => t.shape), [[1, 8, 8, 1], [1, 4, 4, 1], [1, 2, 2, 1]]);
          tf.dispose(Object.values(out).flat());
          m.dispose();
        }
      }
    });
  }

  it('unknown head and neck types are config errors naming the choices; incompatible levels fail at build with both sides', () => {
    assert.throws(() => buildDetector({ ...tinyRetinaConfig(3), head: { type: 'yolov8' as never } }), /model\.head\.type "yolov8" is not built; choose one of: retinanet, yolox/);
    assert.throws(() => buildDetector({ ...tinyRetinaConfig(3), neck: { type: 'bifpn' as never } }), /model\.neck\.type "bifpn" is not built; choose one of: fpn, pafpn/);
    assert.throws(() => buildDetector({ ...tinyRetinaConfig(3), backbone: { name: 'resnet18', outStrides: [8, 32] }, neck: { type: 'pafpn' } }), /PAFPN: input strides must double level to level, got 8, 32/);
    assert.throws(() => buildDetector({ ...tinyYoloxConfig(3), yolox: { simota: {}, loss: { iouMode: 'giou' as never }, test: {} } }), /model\.yolox\.loss\.iouMode "giou" is not built; choose one of: square, linear/);
  });
});
