/**
 * `npm run bench:detector`: RetinaNet (FPN 256, 4-conv head, 80 classes,
 * P3–P7) forward and full-inference images/s at 512×512 and 320×320, batch 1,
 * BN folded, per backbone, with params and MACs; plus our TypeScript NMS
 * against tfjs' NonMaxSuppressionV5 kernel. Writes bench/results/detector.json.
 */
import { tf } from '../runtime/tf';
import { initBackend, describeBackend, BackendName } from '../runtime/backend';
import { seedInit } from '../runtime/rng';
import { buildDetector } from '../detectors/build';
import { DEFAULTS } from '../configs/schema';
import { measureFps } from '../eval/fps';
import { modelCost } from '../eval/report';
import { nms } from '../ops/nms';
import { Rng } from '../runtime/rng';
import { medianMs, writeResults } from './report';

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
      const fps = measureFps(model, size, size, iters, 1);
      const row = { backbone: name, inputSize: size, params: cost.params, macs: cost.macs, forwardFps: fps.forwardFps, inferenceFps: fps.inferenceFps };
      console.log(JSON.stringify(row));
      rows.push(row);
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
    nms: nmsRows,
  });
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
