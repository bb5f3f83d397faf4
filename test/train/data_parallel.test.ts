import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { backendInfo } from '../../backend/init_backend';
import { buildDetector } from '../../detectors/build';
import { loadCoco } from '../../data/coco';
import { DataLoader } from '../../data/loader';
import { DataParallel } from '../../train/data_parallel';
import { computeGrads, Gradients } from '../../train/step';
import { tinyRetinaConfig, tinyShapes } from '../fixtures';
import { relErr } from '../helpers';

describe('data-parallel gradients (worker threads)', function () {
  this.timeout(300000);

  it('two replicas give the mean of the per-half gradients computed on one thread', async () => {
    const d = tinyShapes();
    const ds = loadCoco(d.trainAnn, { imagesDir: d.trainImages, filterEmpty: true, log: () => undefined });
    const batch = [...new DataLoader(ds, { batchSize: 4, train: false, transform: { resize: { mode: 'square', size: 128 }, sizeDivisor: 32 } }).batches(0)][0];
    const cfg = tinyRetinaConfig(3);
    seedInit(0);
    const model = buildDetector(cfg);
    model.train();
    const vars = model.trainableVariables();
    const buffersBefore = model.namedTensors().map((t) => t.variable.dataSync().slice());
    const halves: Gradients[] = [];
    for (const h of DataParallel.split(batch, 2)) halves.push(await computeGrads(() => model.loss(model.forward(tf.tensor4d(h.images, h.shape)), h.targets), vars));
    // Restore BN running statistics so the parallel pass starts from the same state.
    model.namedTensors().forEach((t, i) => t.variable.assign(tf.tensor(buffersBefore[i], t.variable.shape)));
    const dp = await DataParallel.start(2, backendInfo().name, cfg);
    try {
      const g = await dp.grads(model, vars, batch);
      assert.ok(Math.abs(g.losses.loss - (halves[0].losses.loss + halves[1].losses.loss) / 2) < 1e-5);
      vars.forEach((v, i) => {
        const want = tf.tidy(() => tf.div(tf.add(halves[0].grads[i]!, halves[1].grads[i]!), 2).dataSync());
        const err = relErr(g.grads[i]!.dataSync(), want);
        assert.ok(err < 1e-4, `gradient ${i} differs: ${err}`);
      });
      tf.dispose([...g.grads, ...halves.flatMap((h) => h.grads)].filter((t): t is tf.Tensor => t !== undefined));
      // More steps: the workers' tensor counts stay flat (DataParallel throws otherwise), and so does ours.
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose((await dp.grads(model, vars, batch)).grads.filter((t): t is tf.Tensor => t !== undefined));
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await dp.stop();
      model.dispose();
    }
  });
});
