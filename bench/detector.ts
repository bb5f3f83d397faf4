/**
 * `npm run bench:detector`: RetinaNet (FPN 256, 4-conv head, 80 classes,
 * P3–P7) forward and full-inference images/s at 512×512 and 320×320, batch 1,
 * BN folded, per backbone, with params and MACs; the two main-job detectors
 * (RetinaNet and YOLOX heads on G-Ghost RegNetX-200MF, configs/*_cpu_shapes.json)
 * side by side: forward and inference FPS at 128 and 320, training images/s at
 * batch 8, 128 px, one replica; plus our TypeScript NMS against tfjs'
 * NonMaxSuppressionV5 kernel. Writes bench/results/detector.json.
 */
import { tf } from '../engine/tf';
import { initBackend, describeBackend, BackendName } from '../backend/init_backend';
import { seedInit } from '../util/rng';
import { buildDetector } from '../detectors/build';
import { DEFAULTS } from '../configs/schema';
import { measureFps } from '../eval/fps';
import { modelCost } from '../eval/report';
import { nms } from '../ops/nms';
import { Rng } from '../util/rng';
import { medianMs, writeResults } from './report';
import * as path from 'path';
import { loadConfig } from '../configs/schema';
import { AdamW } from '../train/adamw';
import { trainStep } from '../train/step';

async function main(): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'auto');
  console.error(describeBackend(info));
  const names = (process.env.BENCH_BACKBONES ?? 'g_ghost_regnetx_032,ghostnet_100,ese_vovnet19b_dw,resnet50').split(',');
  const iters = Number(process.env.BENCH_RUNS ?? 5);
  const rows = [];
  for (const name of names) {
    for (const size of [512, 320]) {
      seedInit(0);
      const model = buildDetector({ ...DEFAULTS.model, backbone: { name } });
      const cost = modelCost(model, size, size);
      const fps = await measureFps(model, size, size, iters, 1);
      const row = { backbone: name, inputSize: size, params: cost.params, macs: cost.macs, forwardFps: fps.forwardFps, inferenceFps: fps.inferenceFps };
      console.log(JSON.stringify(row));
      rows.push(row);
      model.dispose();
    }
  }
  const heads = [];
  for (const cfg of ['retinanet_gghost_cpu_shapes', 'yolox_gghost_cpu_shapes']) {
    const { config } = loadConfig(path.resolve(__dirname, '..', '..', 'configs', `${cfg}.json`));
    for (const size of [128, 320]) {
      seedInit(0);
      const model = buildDetector(config.model);
      const cost = modelCost(model, size, size);
      const row: Record<string, unknown> = { config: cfg, head: model.kind, inputSize: size, params: cost.params, macs: cost.macs };
      if (size === 128) {
        // Training first: FPS folds BN in place.
        model.train();
        const vars = model.trainableVariables();
        const opt = new AdamW({ lr: 1e-5 });
        const b = config.train.batchSize;
        const x = tf.randomUniform([b, size, size, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
        const targets = Array.from({ length: b }, () => ({ boxes: Float32Array.of(10, 12, 50, 60, 60, 64, 110, 120), labels: Int32Array.of(0, 2), ignore: new Float32Array(0) }));
        const ms = await medianMs(() => trainStep(() => model.loss(model.forward(x), targets), vars, opt), iters);
        Object.assign(row, { trainBatch: b, trainStepMs: +ms.toFixed(1), trainImagesPerSecond: +((b * 1000) / ms).toFixed(2) });
        x.dispose();
        opt.dispose();
      }
      model.eval();
      const fps = await measureFps(model, size, size, iters * 2, 2);
      Object.assign(row, { forwardFps: fps.forwardFps, inferenceFps: fps.inferenceFps });
      console.log(JSON.stringify(row));
      heads.push(row);
      model.dispose();
    }
  }
  const nmsRows = [];
  for (const n of [1000, 5000]) {
    const rng = new Rng(n);
    const boxes = new Float32Array(n * 4), scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = rng.uniform(0, 800), y = rng.uniform(0, 800), w = rng.uniform(10, 200), h = rng.uniform(10, 200);
      boxes.set([x, y, x + w, y + h], 4 * i);
      scores[i] = rng.next();
    }
    const kept = nms(boxes, scores, 0.5).length;
    // tfjs' kernel takes [y1, x1, y2, x2]; the coordinate order does not change IoU.
    const tfKept = tf.tidy(() => tf.image.nonMaxSuppression(tf.tensor2d(boxes, [n, 4]), tf.tensor1d(scores), n, 0.5).dataSync().length);
    const r = {
      boxes: n, kept, tfjsKept: tfKept,
      typescriptMs: +(await medianMs(() => nms(boxes, scores, 0.5), 5)).toFixed(2),
      tfjsKernelMs: +(await medianMs(() => tf.tidy(() => { tf.image.nonMaxSuppression(tf.tensor2d(boxes, [n, 4]), tf.tensor1d(scores), n, 0.5).dataSync(); }), 5)).toFixed(2),
    };
    console.log(JSON.stringify(r));
    nmsRows.push(r);
  }
  const file = writeResults('detector', 'npm run bench:detector', {
    backend: { name: info.name, package: info.pkg, simd: info.simd, threads: info.threads },
    what: `RetinaNet (FPN 256, 4-conv head, 80 classes, P3–P7), batch 1, BN folded, random weights; mean over ${iters} runs after 1 warm-up; inference = forward + decode + NMS`,
    results: rows,
    mainJobHeads: { what: 'the main-job configs (3 classes, FPN 64 P3–P5, 2 stacked convs); training = forward + backward + AdamW on one thread; FPS at batch 1, BN folded', rows: heads },
    nms: nmsRows,
  });
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
