import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { readSafetensors } from '../../weights/safetensors';
import { loadSafetensors } from '../../nn/state_dict';
import { createBackbone, BACKBONES } from '../../backbones/index';
import { countMacs } from '../../nn/macs';
import { fixture, needFixture } from '../helpers';

// reference.json is carried by the repository; the weights and outputs are large and stay in the shared folder.
const reference = JSON.parse(fs.readFileSync(fixture('fixtures/backbones/reference.json')!, 'utf8')) as Record<string, {
  params: number; paramsWithoutClassifier: number; macs224: number; features224: Array<{ module: string; stride: number; channels: number }>;
}>;

/** NCHW reference tensor → NHWC values. */
function nhwc(data: Float32Array, shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.transpose(tf.tensor(data, shape), shape.length === 4 ? [0, 2, 3, 1] : [0, 1]));
}

/** max |ours − ref| / max |ref|: the tolerance is relative to the output's scale. */
function relMaxAbs(ours: tf.Tensor, ref: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0] / tf.max(tf.abs(ref)).dataSync()[0]);
}

describe('backbones: parameter counts and MACs equal the reference exactly', function () {
  this.timeout(60000);
  for (const name of Object.keys(reference)) {
    it(name, () => {
      assert.ok(BACKBONES[name], `${name} is not built`);
      const m = createBackbone(name);
      try {
        assert.equal(m.numParams(), reference[name].params, 'params');
        assert.equal(m.numParamsBackbone(), reference[name].paramsWithoutClassifier, 'params without classifier');
        const stages = m.stages().map((s) => ({ module: s.name, stride: s.stride, channels: s.channels }));
        assert.deepEqual(stages, reference[name].features224);
        // Every Conv2d and Linear on a 1×3×224×224 input, as the reference counts.
        m.eval();
        const macs = countMacs(() => tf.tidy(() => { m.forwardAll(tf.zeros([1, 224, 224, 3])); }));
        assert.equal(macs, reference[name].macs224, 'MACs at 224');
      } finally {
        m.dispose();
      }
    });
  }
});

const WITH_OUTPUTS = ['ese_vovnet19b_slim', 'ese_vovnet19b_slim_dw', 'g_ghost_regnetx_002', 'g_ghost_regnetx_006', 'ghostnet_050'];

describe('backbones: forward parity with the reference PyTorch models (1e-4 of max-abs)', () => {
  for (const name of WITH_OUTPUTS) {
    it(name, function () {
      const dir = path.dirname(needFixture(this, `fixtures/backbones/${name}/io.safetensors`));
      assert.ok(BACKBONES[name], `${name} is not built`);
      this.timeout(300000);
      const m = createBackbone(name);
      const io = readSafetensors(path.join(dir, 'io.safetensors')).tensors;
      try {
        loadSafetensors(m, path.join(dir, 'weights.safetensors'), { strict: true });
        m.eval();
        const input = io.get('input')!;
        const x = nhwc(input.data as Float32Array, input.shape) as tf.Tensor4D;
        const { features, logits } = m.forwardAll(x);
        for (const [key, ref] of io) {
          if (!key.startsWith('features.')) continue;
          const ours = features.get(key.slice('features.'.length));
          assert.ok(ours, `no stage ${key}`);
          const r = nhwc(ref.data as Float32Array, ref.shape);
          assert.deepEqual(ours.shape, r.shape, key);
          const err = relMaxAbs(ours, r);
          assert.ok(err <= 1e-4, `${key}: relative max-abs error ${err}`);
        }
        const refLogits = io.get('logits')!;
        const err = relMaxAbs(logits, tf.tensor(refLogits.data as Float32Array, refLogits.shape));
        assert.ok(err <= 1e-4, `logits: relative max-abs error ${err}`);
      } finally {
        m.dispose();
      }
    });
  }
});
