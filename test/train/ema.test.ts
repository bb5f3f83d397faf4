import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { Ema } from '../../train/ema';
import { readCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import { ModeSwitchHook } from '../../train/mode_switch_hook';
import { Sgd } from '../../train/sgd';
import { buildDetector } from '../../detectors/build';
import type { TrainContext } from '../../train/hooks';
import { tinyYoloxConfig } from '../fixtures';

const first = (m: { namedTensors(): Array<{ variable: tf.Variable }> }): number => m.namedTensors()[0].variable.dataSync()[0];

describe('weight EMA (mmdetection ExpMomentumEMA)', function () {
  this.timeout(60000);

  it('momentum follows (1 − m)·exp(−(1 + t)/γ) + m and each update blends by it', () => {
    const det = buildDetector(tinyYoloxConfig(3));
    const ema = new Ema(det, { momentum: 0.0001, gamma: 2000 });
    assert.equal(ema.momentumAt(0), 0.9999 * Math.exp(-1 / 2000) + 0.0001);
    assert.equal(ema.momentumAt(1999), 0.9999 * Math.exp(-1) + 0.0001);
    const w = det.namedTensors()[0].variable;
    const w0 = w.dataSync()[0];
    tf.tidy(() => w.assign(tf.add(w, 1)));
    ema.update();
    const m0 = ema.momentumAt(0);
    const expected = (1 - m0) * w0 + m0 * (w0 + 1);
    assert.ok(Math.abs(ema.withAveraged(() => first(det)) - expected) < 1e-5);
    assert.equal(first(det), w.dataSync()[0], 'withAveraged puts the raw weights back');
    assert.ok(Math.abs(first(det) - (w0 + 1)) < 1e-6);
    ema.dispose();
    det.dispose();
  });

  it('checkpoints keep the averages: resume restores raw weights and EMA; inference loads the EMA', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-ema-'));
    const a = buildDetector(tinyYoloxConfig(3));
    const ema = new Ema(a);
    const w = a.namedTensors()[0].variable;
    tf.tidy(() => w.assign(tf.add(w, 0.5)));
    ema.update();
    ema.update();
    tf.tidy(() => w.assign(tf.add(w, 0.5)));
    const raw = first(a), averaged = ema.withAveraged(() => first(a));
    assert.notEqual(raw, averaged);
    const file = path.join(dir, 'ck.safetensors');
    await saveCheckpoint(file, a, undefined, { epoch: 1, batchInEpoch: 0, iter: 2, config: {} }, ema);
    const ck = readCheckpoint(file);
    assert.ok(ck.tensors.has(`ema.${a.namedTensors()[0].name}`));
    assert.equal(ck.state.emaSteps, 2);

    const b = buildDetector(tinyYoloxConfig(3));
    const emaB = new Ema(b);
    restoreCheckpoint(ck, b, new Sgd({ lr: 0.1 }), file, emaB);
    assert.equal(first(b), raw);
    assert.equal(emaB.withAveraged(() => first(b)), averaged);
    assert.equal(emaB.steps, 2);

    const c = buildDetector(tinyYoloxConfig(3));
    restoreCheckpoint(ck, c, undefined, file);
    assert.equal(first(c), averaged, 'inference uses the average');
    [a, b, c].forEach((m) => m.dispose());
    [ema, emaB].forEach((e) => e.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the L1 switch turns on for the last l1LastEpochs epochs, also after a resume', () => {
    const det = buildDetector(tinyYoloxConfig(3));
    const hook = new ModeSwitchHook(2, () => undefined);
    const ctx = { model: det, epoch: 0, epochs: 5 } as unknown as TrainContext;
    const seen: boolean[] = [];
    hook.beforeTrain(ctx);
    seen.push(det.trainFlags.l1);
    for (ctx.epoch = 1; ctx.epoch < 5; ctx.epoch++) { hook.afterEpoch(ctx); seen.push(det.trainFlags.l1); }
    assert.deepEqual(seen, [false, false, false, true, true]);
    const resumed = buildDetector(tinyYoloxConfig(3));
    hook.beforeTrain({ model: resumed, epoch: 4, epochs: 5 } as unknown as TrainContext);
    assert.equal(resumed.trainFlags.l1, true);
    [det, resumed].forEach((m) => m.dispose());
  });
});
