/**
 * `npm run bench:backend`: a 3×3 conv 64→64 on 1×64×64×64 and a full training
 * step (forward, backward, SGD) of the small conv net at 128×128, batch 2, on
 * every backend that loads here. Writes bench/results/backend.json.
 */
import { tf } from '../engine/tf';
import { initBackend, describeBackend, BackendName } from '../backend/init_backend';
import { seedInit } from '../util/rng';
import { Sgd } from '../train/sgd';
import { trainStep } from '../train/step';
import { medianMs, writeResults } from './report';
import { smallConvNet, smallNetLoss } from './small_convnet';

async function benchOne(name: BackendName): Promise<Record<string, unknown> | { backend: string; unavailable: string }> {
  let info;
  try {
    info = await initBackend(name);
  } catch (e) {
    return { backend: name, unavailable: (e as Error).message };
  }
  console.error(describeBackend(info));
  const x = tf.randomNormal([1, 64, 64, 64]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
  const convRuns = info.name === 'cpu' ? 5 : 30;
  // Nothing is returned from tidy: tidy walks every element of a returned typed array looking for tensors.
  const convMs = await medianMs(() => tf.tidy(() => { tf.conv2d(x, w, 1, 'same').dataSync(); }), convRuns);
  const flop = 2 * 64 * 64 * 64 * 64 * 9;
  seedInit(0);
  const net = smallConvNet();
  const img = tf.randomNormal([2, 128, 128, 3]) as tf.Tensor4D;
  const target = tf.zeros([2, 64]);
  const opt = new Sgd({ lr: 0.01, momentum: 0.9 });
  const vars = net.trainableVariables();
  const stepMs = await medianMs(() => trainStep(() => smallNetLoss(net, img, target), vars, opt), info.name === 'cpu' ? 3 : 10, 2);
  tf.dispose([x, w, img, target]);
  net.dispose();
  opt.dispose();
  return {
    backend: info.name, package: info.pkg, simd: info.simd, threads: info.threads, gpu: info.gpu,
    conv3x3_64_ms: +convMs.toFixed(3), conv3x3_64_gflops: +(flop / convMs / 1e6).toFixed(2),
    trainStep128_batch2_ms: +stepMs.toFixed(2), runs: { conv: convRuns },
  };
}

async function main(): Promise<void> {
  const results = [];
  for (const b of ['tensorflow', 'wasm', 'cpu'] as BackendName[]) results.push(await benchOne(b));
  const byName = Object.fromEntries(results.map((r) => [r.backend, r]));
  const wasmStep = (byName.wasm as { trainStep128_batch2_ms?: number }).trainStep128_batch2_ms;
  const cpuStep = (byName.cpu as { trainStep128_batch2_ms?: number }).trainStep128_batch2_ms;
  const file = writeResults('backend', 'npm run bench:backend', {
    note: 'median of N runs after 2 warm-up runs; wasm runs its threaded build with GHOSTDET_THREADS (default: every core) XNNPACK threads, see backend/wasm_threads.ts',
    results,
    wasmSpeedupOverCpu_trainStep: wasmStep && cpuStep ? +(cpuStep / wasmStep).toFixed(1) : null,
  });
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
