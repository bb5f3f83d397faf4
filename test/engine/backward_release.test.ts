import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { installBackwardRelease, uninstallBackwardRelease } from '../../engine/backward_release';
import { onBackend, seeded } from '../helpers';
import { detectorStep } from '../detector_step';

/** Runs `fn` with tfjs's own backward (everything kept to the end of the pass). */
async function withTfjsBackward<T>(fn: () => T | Promise<T>): Promise<T> {
  uninstallBackwardRelease();
  try {
    return await fn();
  } finally {
    installBackwardRelease();
  }
}

/**
 * Gradients of a graph with what the release must get right: fan-out (x
 * used three times, a residual sum), a two-output op (split), a customGrad
 * that hands dy back unchanged, reshapes that share data, and a variable.
 */
function graphGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(2 * 6 * 6 * 4, 1), [2, 6, 6, 4]);
    const w = tf.tensor4d(seeded(3 * 3 * 4 * 4, 2), [3, 3, 4, 4]);
    const passDy = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const a = args[0] as tf.Tensor;
      return { value: tf.mul(a, 1), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [dy as tf.Tensor] };
    });
    const f = (xx: tf.Tensor, ww: tf.Tensor): tf.Scalar => {
      const h = tf.relu(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'));
      const r = tf.add(h, xx);
      const [p, q] = tf.split(tf.reshape(passDy(r), [2, 36, 4]), 2, 2);
      return tf.sum(tf.add(tf.mul(tf.square(p), tf.sigmoid(q)), tf.mean(xx)));
    };
    return tf.grads(f)([x, w]).map((g) => g.dataSync() as Float32Array);
  });
}

/** Most bytes held during the backward half of one gradient pass through a 12-conv chain on 32×32×16 maps, beyond what was held before. */
async function chainBackwardPeak(): Promise<number> {
  const w = tf.tensor4d(seeded(3 * 3 * 16 * 16, 3), [3, 3, 16, 16]);
  const x = tf.tensor4d(seeded(2 * 32 * 32 * 16, 4), [2, 32, 32, 16]);
  // Tensors other tests keep alive count in the profile's snapshots too.
  const base = tf.memory().numBytes;
  const prof = await tf.profile(() => {
    const g = tf.grads((xx: tf.Tensor) => {
      let h = xx as tf.Tensor4D;
      for (let i = 0; i < 12; i++) h = tf.relu(tf.conv2d(h, w, 1, 'same'));
      return tf.sum(h);
    })([x]);
    tf.dispose(g);
  });
  tf.dispose([w, x]);
  // The forward ends with the Sum; the rest is the backward.
  const backward = prof.kernels.slice(prof.kernels.findIndex((k) => k.name === 'Sum') + 1);
  assert.ok(backward.length > 24, 'the profile holds the backward pass');
  return Math.max(...backward.map((k) => k.totalBytesSnapshot)) - base;
}

/** Every trainable parameter's gradient of a config's detector at 64², in train mode, from seed 0. */
function detectorGrads(config: string): Promise<Float32Array[]> {
  return detectorStep(config, (_model, _vars, g) => g.grads.map((t) => (t ? t.dataSync() as Float32Array : new Float32Array(0))));
}

describe('backward release (the backward pass frees what it is done with)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: gradients through fan-out, split, a pass-through customGrad and reshapes equal tfjs's bit for bit; no tensors left`, async () => {
      await onBackend(backend, async () => {
        const theirs = await withTfjsBackward(graphGrads);
        const before = tf.memory().numTensors;
        const ours = graphGrads();
        assert.equal(tf.memory().numTensors, before);
        ours.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(theirs[i]), `gradient ${i}`));
      });
    });
  }

  it("a 12-conv chain's backward holds less as it goes, where tfjs's keeps every saved tensor and gradient to the end", async () => {
    await onBackend('wasm', async () => {
      const theirs = await withTfjsBackward(() => chainBackwardPeak());
      const ours = await chainBackwardPeak();
      // tfjs's backward grows by two 128 KB gradients a layer on top of the forward's saved maps (7.1 MB
      // here); released, it starts at the saved maps (3.5 MB) and shrinks.
      assert.ok(ours < 0.7 * theirs, `backward peak ${ours} bytes against tfjs's ${theirs}`);
    });
  });

  for (const config of ['retinanet_gghost_cpu_shapes.json', 'yolox_gghost_cpu_shapes.json', 'retinanet_ghostnet100_fpn_1x_coco.json']) {
    it(`${config}: every parameter's gradient equals tfjs's backward bit for bit, with no tensors left`, async function () {
      this.timeout(300000);
      await onBackend('wasm', async () => {
        const theirs = await withTfjsBackward(() => detectorGrads(config));
        const before = tf.memory().numTensors;
        const ours = await detectorGrads(config);
        assert.equal(tf.memory().numTensors, before);
        assert.equal(ours.length, theirs.length);
        ours.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(theirs[i]), `parameter ${i}`));
      });
    });
  }
});
