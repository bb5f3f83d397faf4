import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { createBackbone, backboneNames } from '../../backbones/index';

describe('backbone contract', () => {
  it('every backbone outputs strides 8/16/32 by default, NHWC, matching its declared specs', () => {
    for (const name of ['ghostnet_050', 'g_ghost_regnetx_002', 'ese_vovnet19b_slim_dw', 'resnet18']) {
      const m = createBackbone(name, { withClassifier: false });
      m.eval();
      const outs = m.forward(tf.zeros([1, 64, 96, 3]));
      assert.deepEqual(m.outputs.map((o) => o.stride), [8, 16, 32], name);
      outs.forEach((o, i) => assert.deepEqual(o.shape, [1, 64 / m.outputs[i].stride, 96 / m.outputs[i].stride, m.outputs[i].channels], name));
      assert.deepEqual(m.outputs.map((o) => o.name), ['c3', 'c4', 'c5']);
      tf.dispose(outs);
      m.dispose();
    }
  });

  it('outStrides adds stride 4 where it exists; unknown strides are refused', () => {
    const m = createBackbone('resnet18', { outStrides: [4, 8, 16, 32], withClassifier: false });
    assert.deepEqual(m.outputs.map((o) => o.channels), [64, 128, 256, 512]);
    assert.throws(() => createBackbone('resnet18', { outStrides: [64] }), /no stage has stride 64/);
    m.dispose();
  });

  it('GhostNet taps blocks.9 (960 ch) for stride 32 by default and blocks.8 (160) with outIndices', () => {
    const a = createBackbone('ghostnet_100', { withClassifier: false });
    assert.deepEqual(a.outputs.map((o) => o.channels), [40, 112, 960]);
    const b = createBackbone('ghostnet_100', { outIndices: [4, 6, 8], withClassifier: false });
    assert.deepEqual(b.outputs.map((o) => o.channels), [40, 112, 160]);
    a.dispose();
    b.dispose();
  });

  it('frozenStages freezes the stem and the first N stages, which stay in eval mode', () => {
    const m = createBackbone('resnet18', { frozenStages: 1 });
    m.train();
    const frozen = m.namedParameters().filter((p) => !p.variable.trainable).map((p) => p.name);
    assert.ok(frozen.includes('conv1.weight') && frozen.includes('layer1.1.bn2.weight'));
    assert.ok(!frozen.some((n) => n.startsWith('layer2') || n.startsWith('fc')));
    assert.equal((m.child('layer1') as { training: boolean }).training, false);
    assert.equal((m.child('layer2') as { training: boolean }).training, true);
    m.dispose();
  });

  it('inference leaves no tensors behind', () => {
    const m = createBackbone('g_ghost_regnetx_002', { withClassifier: false });
    m.eval();
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    tf.dispose(m.forward(x));
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(m.forward(x));
    assert.equal(tf.memory().numTensors, n);
    m.dispose();
  });

  it('knows every named model of the issue', () => {
    const want = ['ghostnet_050', 'ghostnet_100', 'ghostnet_130', 'vovnet39a', 'vovnet57a', 'ese_vovnet19b_slim_dw', 'ese_vovnet19b_dw',
      'ese_vovnet19b_slim', 'ese_vovnet19b', 'ese_vovnet39b', 'ese_vovnet57b', 'ese_vovnet99b', 'resnet18', 'resnet50',
      ...['002', '004', '006', '008', '016', '032', '040', '064', '080', '120', '160', '320'].map((s) => `g_ghost_regnetx_${s}`)];
    assert.deepEqual(backboneNames().sort(), want.sort());
    assert.throws(() => createBackbone('ghostnet_99'), /unknown backbone "ghostnet_99"; known: ghostnet_050/);
  });
});

describe('BN folding over whole backbones', () => {
  for (const name of ['ghostnet_050', 'g_ghost_regnetx_002', 'ese_vovnet19b_slim_dw', 'resnet18']) {
    it(`${name}: folded forward equals the unfolded one within 1e-5 relative`, async () => {
      const { foldBatchNorms } = await import('../../nn/fold_bn');
      const { BatchNorm2d } = await import('../../nn/batchnorm');
      const m = createBackbone(name, { withClassifier: false });
      // Non-trivial BN statistics so a wrong fold shows.
      let s = 1;
      for (const t of m.namedTensors()) {
        if (/running_var$/.test(t.name)) t.variable.assign(tf.add(tf.randomUniform(t.variable.shape, 0.5, 1.5, 'float32', s++), 0));
        if (/running_mean$|bn\d?\.bias$/.test(t.name)) t.variable.assign(tf.randomUniform(t.variable.shape, -0.2, 0.2, 'float32', s++));
      }
      m.eval();
      const x = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
      const ref = m.forward(x);
      const n = foldBatchNorms(m);
      const bns = m.namedChildren().length && (function count(mm: import('../../nn/module').Module): number {
        return mm.namedChildren().reduce((a, [, c]) => a + (c instanceof BatchNorm2d ? 1 : 0) + count(c), 0);
      })(m);
      assert.equal(n, bns, 'every BN is folded');
      const got = m.forward(x);
      ref.forEach((r, i) => {
        const err = tf.tidy(() => tf.max(tf.abs(tf.sub(got[i], r))).dataSync()[0] / tf.max(tf.abs(r)).dataSync()[0]);
        assert.ok(err < 1e-5, `output ${i}: ${err}`);
      });
      m.dispose();
    });
  }
});
