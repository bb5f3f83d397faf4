import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { loadConfig, applySet, Config } from '../../configs/schema';
import { prepareTraining, writeCurve } from '../../train/run';
import { dataPaths } from '../../data/from_config';
import { readImage } from '../../data/image';
import { readCheckpoint, newestCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import { NonFiniteLossError } from '../../train/trainer';
import type { Hook, TrainContext } from '../../train/hooks';
import { tinyShapes } from '../fixtures';

/** The CPU main-job config shrunk to the tiny dataset: 12 images, batch 4 → 3 steps per epoch. */
function tinyConfig(extra: string[] = []): Config {
  const d = tinyShapes();
  let c = loadConfig(path.resolve(__dirname, '..', '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json')).config;
  for (const s of [
    'data.kind=coco', `data.root=${d.root}`, 'data.trainAnn=annotations/instances_train.json', 'data.trainImages=train',
    'data.valAnn=annotations/instances_val.json', 'data.valImages=val', 'data.filterEmpty=false',
    'model.neck.outChannels=16', 'model.head.featChannels=16', 'model.head.stackedConvs=1', 'model.head.gnGroups=8',
    'train.epochs=2', 'train.batchSize=4', 'train.workers=1', 'train.warmupIters=2', 'train.evalEvery=100', 'train.logEvery=1', 'train.schedule=step', 'train.steps=[1]', ...extra,
  ]) c = applySet(c, s);
  return c;
}

const quiet = (): void => undefined;
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-train-'));

function weights(run: { model: { namedTensors(): Array<{ name: string; variable: tf.Variable }> } }): Map<string, Float32Array> {
  return new Map(run.model.namedTensors().map((t) => [t.name, t.variable.dataSync() as Float32Array]));
}

class StopAt implements Hook {
  readonly name = 'stopAt';
  constructor(private readonly iter: number) {}
  afterStep(c: TrainContext): void {
    if (c.iter === this.iter) c.stopRequested = true;
  }
}

describe('trainer', function () {
  this.timeout(600000);

  it('a 2-epoch run finishes, evaluates, logs, and keeps last and best checkpoints', async () => {
    const dir = tmp();
    const run = prepareTraining(tinyConfig(), dir, undefined, quiet);
    await run.trainer.run();
    assert.equal(run.trainer.ctx.iter, 6);
    assert.ok(run.evalHook.lastStats && run.evalHook.lastStats.length === 12, 'evaluated at the end');
    assert.ok(fs.existsSync(path.join(dir, 'last.safetensors')) && fs.existsSync(path.join(dir, 'best.safetensors')));
    const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(log.filter((r) => r.mode === 'train').length, 6);
    assert.ok(log.some((r) => r.mode === 'val' && typeof r.bbox_mAP === 'number'));
    const ck = readCheckpoint(path.join(dir, 'last.safetensors'));
    assert.deepEqual([ck.state.epoch, ck.state.iter], [2, 6]);
    assert.deepEqual(ck.state.labels?.names, ['circle', 'square', 'triangle']);
    assert.ok(ck.tensors.has('backbone.layer3.merge.1.weight'), 'PyTorch-style names');
    // The curve: SVG (one line per loss term, mAP, ticks, legend) rasterised to a 720×400 PNG with real fonts.
    const png = readImage(writeCurve(run, dir));
    assert.deepEqual([png.width, png.height], [720, 400]);
    const svg = fs.readFileSync(path.join(dir, 'curve.svg'), 'utf8');
    for (const name of ['loss', 'loss_cls', 'loss_bbox', 'val bbox mAP', 'iteration']) assert.ok(svg.includes(`>${name}</text>`), `legend or axis title "${name}"`);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 3, 'a line per loss term (mAP: one evaluation, a dot)');
    assert.ok(svg.includes('fill="#ff7f0e"/>'), 'the single mAP point');
    const has = (rgb: number[]): boolean => png.data.some((_, i) => i % 3 === 0 && png.data[i] === rgb[0] && png.data[i + 1] === rgb[1] && png.data[i + 2] === rgb[2]);
    assert.ok(has([31, 119, 180]) && has([255, 127, 14]), 'loss and mAP lines');
    run.model.dispose();
  });

  it('resume is exact: 6 steps straight = 4 steps, Ctrl-C-style stop mid-epoch, resume, 2 more', async () => {
    const a = prepareTraining(tinyConfig(), tmp(), undefined, quiet);
    await a.trainer.run();
    const dirB = tmp();
    const b1 = prepareTraining(tinyConfig(), dirB, undefined, quiet);
    (b1.trainer as unknown as { o: { hooks: Hook[] } }).o.hooks.push(new StopAt(4));
    await b1.trainer.run();
    const ck = newestCheckpoint(dirB)!;
    assert.equal(readCheckpoint(ck).state.batchInEpoch, 1);
    const b2 = prepareTraining(tinyConfig(), dirB, ck, quiet);
    await b2.trainer.run();
    const wa = weights(a), wb = weights(b2);
    let maxDiff = 0;
    for (const [k, v] of wa) {
      const u = wb.get(k)!;
      for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(v[i] - u[i]));
    }
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    [a, b1, b2].forEach((r) => r.model.dispose());
  });

  it('a NaN loss stops training with the loss terms, before the weights change', async () => {
    const dir = tmp();
    const run = prepareTraining(tinyConfig(['train.epochs=1']), dir, undefined, quiet);
    const real = run.model.loss.bind(run.model);
    let calls = 0;
    run.model.loss = (out, t) => {
      const l = real(out, t);
      if (++calls === 2) return { ...l, loss_cls: tf.mul(l.loss_cls, NaN) as tf.Scalar };
      return l;
    };
    let before: Map<string, Float32Array> | undefined;
    (run.trainer as unknown as { o: { hooks: Hook[] } }).o.hooks.push({ name: 'snap', afterStep: () => { before = weights(run); } });
    await assert.rejects(run.trainer.run(), (e: unknown) => e instanceof NonFiniteLossError && /non-finite loss at iteration 1: \{"loss":null,"loss_cls":null,"loss_bbox":[0-9.]+\}, gradient norm/.test((e as Error).message));
    // Parameters are untouched (BN running statistics move in the forward pass, as in PyTorch; nothing is saved).
    const after = weights(run);
    const params = new Set(run.model.namedParameters().map((p) => p.name));
    for (const [k, v] of before!) if (params.has(k)) assert.deepEqual(after.get(k), v, k);
    assert.ok(!fs.existsSync(path.join(dir, 'last.safetensors')), 'no checkpoint written from a failed step');
    run.model.dispose();
  });

  it('planted undecodable images: the run finishes, skipping and counting them per epoch; past 1% it stops with the list', async () => {
    const d = tinyShapes();
    const root = tmp();
    fs.cpSync(d.root, root, { recursive: true });
    // Truncated past the header: header checks pass, decoding fails mid-run.
    const victims = ['000002.png', '000007.png'];
    for (const v of victims) {
      const f = path.join(root, 'train', v);
      fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 200));
    }
    const cfg = (extra: string[]): Config => tinyConfig([`data.root=${root}`, 'data.workers=2', 'train.batchSize=2', 'train.epochs=2', ...extra]);
    const dir = tmp();
    const printed: string[] = [];
    const run = prepareTraining(cfg(['data.maxBadFraction=0.2']), dir, undefined, (s) => printed.push(s));
    await run.trainer.run();
    // 12 images, 2 skipped, batch 2: 6 batches, each victim leaves a batch of 1 (or both share one).
    const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const epochs = log.filter((r) => r.mode === 'epoch');
    assert.equal(epochs.length, 2);
    for (const e of epochs) {
      assert.equal(e.bad_images, 2);
      assert.equal(e.images, 10);
      assert.deepEqual(e.bad_files.map((f: string) => path.basename(f)).sort(), victims);
    }
    assert.ok(printed.some((s) => /^epoch 1\/2 done: 10 images .* 2 image\(s\) skipped \(could not be decoded\): .*000002\.png/.test(s)), printed.join('\n'));
    assert.ok(fs.existsSync(path.join(dir, 'last.safetensors')));
    run.model.dispose();
    const strict = prepareTraining(cfg([]), tmp(), undefined, quiet);
    await assert.rejects(strict.trainer.run(), /[12] of the 12 images of epoch 1 could not be decoded \(more than 1\.0%\); stopping\. Fix or remove them[\s\S]*00000[27]\.png/);
    strict.model.dispose();
  });

  it('the built-in dataset is made once, and made again when the config asks for other options', () => {
    const dir = tmp();
    let c = loadConfig(undefined).config;
    for (const s of ['data.kind=synthetic', 'data.synthetic.images=3', 'data.synthetic.val=2', 'data.synthetic.size=32']) c = applySet(c, s);
    const said: string[] = [];
    const p = dataPaths(c.data, dir, (m) => said.push(m));
    const count = (f: string): number => (JSON.parse(fs.readFileSync(f, 'utf8')) as { images: unknown[] }).images.length;
    assert.equal(count(p.trainAnn), 3);
    const made = fs.statSync(p.trainAnn).mtimeMs;
    dataPaths(c.data, dir, (m) => said.push(m));
    assert.equal(fs.statSync(p.trainAnn).mtimeMs, made, 'same options: reused');
    assert.equal(said.length, 1);
    dataPaths(applySet(c, 'data.synthetic.images=4').data, dir, (m) => said.push(m));
    assert.equal(count(p.trainAnn), 4);
    assert.match(said[1], /made with other options \(images 3 → 4\); making it again/);
    assert.equal(fs.readdirSync(path.join(dir, 'data', 'train')).length, 4);
    // In a folder named by data.root the stale set is reported, not deleted.
    const own = applySet(applySet(c, `data.root=${path.join(dir, 'data')}`), 'data.synthetic.images=5');
    assert.throws(() => dataPaths(own.data, dir, quiet), /made with other options than the config's data.synthetic \(images 4 → 5\)/);
    assert.equal(count(p.trainAnn), 4);
  });

  it('checkpoints are atomic: a write that dies before the rename leaves the previous checkpoint loadable', async () => {
    const dir = tmp();
    const run = prepareTraining(tinyConfig(), dir, undefined, quiet);
    const file = path.join(dir, 'last.safetensors');
    await saveCheckpoint(file, run.model, run.optimizer(), { epoch: 1, batchInEpoch: 0, iter: 3, config: {} });
    // The CommonJS module object is patchable (the namespace import is not); atomic_write reads through to it.
    const realFs = require('fs') as { renameSync: typeof fs.renameSync };
    const rename = realFs.renameSync;
    realFs.renameSync = () => { throw new Error('killed'); };
    try {
      await assert.rejects(saveCheckpoint(file, run.model, run.optimizer(), { epoch: 2, batchInEpoch: 0, iter: 6, config: {} }), /killed/);
    } finally {
      realFs.renameSync = rename;
    }
    assert.equal(readCheckpoint(file).state.epoch, 1);
    assert.equal(newestCheckpoint(dir), file, 'temp files are never picked for --resume');
    run.model.dispose();
  });
});
