import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applySet, configTable, DEFAULTS, loadConfig } from '../../configs/schema';

const CONFIGS = path.resolve(__dirname, '..', '..', '..', 'configs');

describe('configs', () => {
  it('every provided config loads; the four COCO ones differ from each other only in the backbone name', () => {
    const files = fs.readdirSync(CONFIGS).filter((f) => f.endsWith('.json'));
    for (const f of files) loadConfig(path.join(CONFIGS, f));
    const coco = ['gghost_regnetx032', 'ghostnet100', 'ese_vovnet39b', 'r50'].map((b) => loadConfig(path.join(CONFIGS, `retinanet_${b}_fpn_1x_coco.json`)).config);
    const names = coco.map((c) => c.model.backbone.name);
    assert.deepEqual(names, ['g_ghost_regnetx_032', 'ghostnet_100', 'ese_vovnet39b', 'resnet50']);
    for (const c of coco) assert.deepEqual({ ...c, model: { ...c.model, backbone: {} } }, { ...coco[0], model: { ...coco[0].model, backbone: {} } });
    // The paper's schedule: 12 epochs, steps 8 and 11, lr 0.01 per 16 images, warmup 500, clip 35, 1333×800.
    const t = coco[0].train;
    assert.deepEqual([t.epochs, t.steps, t.lr, t.lrBatch, t.momentum, t.weightDecay, t.warmupIters, t.gradClip], [12, [8, 11], 0.01, 16, 0.9, 1e-4, 500, 35]);
    assert.deepEqual(coco[0].data.resize.scale, [1333, 800]);
  });

  it('unknown keys are errors with a did-you-mean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-cfg-'));
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify({ train: { epoch: 3 } }));
    assert.throws(() => loadConfig(f), /unknown config key "train.epoch"; did you mean "epochs"\?/);
    fs.writeFileSync(f, JSON.stringify({ train: { epochs: 'three' } }));
    assert.throws(() => loadConfig(f), /train.epochs: expected number, got "three"/);
  });

  it('extends one base; a base that extends again is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-cfg-'));
    fs.writeFileSync(path.join(dir, 'base.json'), JSON.stringify({ train: { epochs: 7, batchSize: 3 } }));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ extends: 'base.json', train: { epochs: 9 } }));
    const c = loadConfig(path.join(dir, 'c.json')).config;
    assert.deepEqual([c.train.epochs, c.train.batchSize, c.train.lr], [9, 3, DEFAULTS.train.lr]);
    fs.writeFileSync(path.join(dir, 'base.json'), JSON.stringify({ extends: 'x.json' }));
    assert.throws(() => loadConfig(path.join(dir, 'c.json')), /one level only/);
  });

  it('extends takes a list of bases, merged in order before the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-cfg-'));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ model: { head: { featChannels: 32 } }, train: { epochs: 5 } }));
    fs.writeFileSync(path.join(dir, 'schedule.json'), JSON.stringify({ train: { epochs: 7, batchSize: 3 } }));
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ extends: ['model.json', 'schedule.json'], train: { batchSize: 4 } }));
    const { config: c, files } = loadConfig(path.join(dir, 'c.json'));
    assert.deepEqual([c.model.head.featChannels, c.train.epochs, c.train.batchSize], [32, 7, 4]);
    assert.deepEqual(files.map((f) => path.basename(f)), ['model.json', 'schedule.json', 'c.json']);
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ extends: ['model.json', 3] }));
    assert.throws(() => loadConfig(path.join(dir, 'c.json')), /"extends" must be a path or a list of paths/);
  });

  it("RetinaNet's options live under model.retinanet; the old keys name the new ones", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-cfg-'));
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify({ model: { retinanet: { anchors: { octaveBaseScale: 2 } } } }));
    assert.equal(loadConfig(f).config.model.retinanet.anchors.octaveBaseScale, 2);
    fs.writeFileSync(f, JSON.stringify({ model: { anchors: { octaveBaseScale: 2 } } }));
    assert.throws(() => loadConfig(f), /config key "model.anchors" is now "model.retinanet.anchors"/);
    assert.throws(() => applySet(DEFAULTS, 'model.test.scoreThr=0.3'), /"model.test" is now "model.retinanet.test \(YOLOX: model.yolox.test\)"/);
  });

  it('the COCO YOLOX config inherits only the dataset base, no RetinaNet model options', () => {
    const { files } = loadConfig(path.join(CONFIGS, 'yolox_gghost_regnetx032_fpn_coco.json'));
    assert.deepEqual(files.map((f) => path.relative(CONFIGS, f)), [path.join('_base', 'datasets', 'coco_detection.json'), 'yolox_gghost_regnetx032_fpn_coco.json']);
  });

  it('--set coerces to the existing field type', () => {
    let c = loadConfig(undefined).config;
    c = applySet(c, 'train.epochs=2');
    c = applySet(c, 'data.filterEmpty=false');
    c = applySet(c, 'train.steps=[1,2]');
    c = applySet(c, 'model.backbone.name=ghostnet_100');
    c = applySet(c, 'data.root=/data/coco');
    assert.deepEqual([c.train.epochs, c.data.filterEmpty, c.train.steps, c.model.backbone.name, c.data.root], [2, false, [1, 2], 'ghostnet_100', '/data/coco']);
    assert.throws(() => applySet(c, 'train.epochs=two'), /train.epochs is a number, got "two"/);
    assert.throws(() => applySet(c, 'train.lrr=1'), /did you mean "lr"/);
    assert.match(configTable(c), /train\.epochs\s+2/);
  });
});
