/**
 * `npm run bench:onnx`: inference at batch 1 with post-processing (decode +
 * NMS), ghostdet on wasm against ONNX Runtime's CPU build on the same model
 * exported by `ghostdet export --format onnx`, at 1 and 2 threads each:
 * - the main job's detector (configs/retinanet_gghost_cpu_shapes.json) at 128²;
 * - the mission's COCO RetinaNet (configs/retinanet_gghost_regnetx032_fpn_1x_coco.json)
 *   at 1333×800, padded to 800×1344.
 *
 * Weights are seeded, with the class biases at 0 so every candidate passes
 * the score threshold: post-processing runs at its full load (nmsPre
 * candidates per level) on both sides. Input preprocessing is left out on
 * both sides. Each ghostdet measurement is a child process (its thread count
 * is fixed when its backend starts); ONNX Runtime runs in this process. The
 * four routes alternate for `BENCH_ROUNDS` rounds (default 3) and medians are
 * reported. One more, profiled, ONNX Runtime run per model gives its time
 * per operator type. Writes bench/results/onnx.json.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { tf } from '../engine/tf';
import { initBackend, describeBackend } from '../backend/init_backend';
import { loadConfig } from '../configs/schema';
import { buildDetectorFor } from '../detectors/build';
import type { Detector } from '../detectors/detector';
import { headTensors } from '../detectors/detector';
import { transformOf } from '../data/from_config';
import { foldBatchNorms } from '../nn/fold_bn';
import { sig3 } from '../eval/fps';
import { exportOnnx } from '../onnx/export_onnx';
import { seedInit } from '../util/rng';
import { writeResults } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = [
  { name: 'main job, 128x128', config: 'configs/retinanet_gghost_cpu_shapes.json', size: [128, 128] as [number, number], iters: 30 },
  { name: 'COCO RetinaNet G-Ghost RegNetX-3.2GF, 1333x800', config: 'configs/retinanet_gghost_regnetx032_fpn_1x_coco.json', size: [800, 1344] as [number, number], iters: 2 },
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The benchmarked detector: seeded, class biases 0, eval mode, BatchNorms folded. */
function benchDetector(config: string): { model: Detector; classes: number; transform: ReturnType<typeof transformOf> } {
  const { config: c } = loadConfig(path.join(ROOT, config));
  seedInit(0);
  const model = buildDetectorFor(c.model, c.model.numClasses);
  for (const p of model.namedParameters()) if (/retina_cls\.bias$/.test(p.name)) p.variable.assign(tf.zerosLike(p.variable));
  model.eval();
  foldBatchNorms(model);
  return { model, classes: c.model.numClasses, transform: transformOf(c.data) };
}

/** The input both engines see: seeded values, NHWC for ghostdet and NCHW for ONNX Runtime. */
function benchInput(h: number, w: number): { nhwc: Float32Array; nchw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.randomUniform([1, h, w, 3], -2, 2, 'float32', 1);
    return { nhwc: x.dataSync() as Float32Array, nchw: tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array };
  });
}

/** Child mode: time ghostdet's forward + predict on `threads` wasm threads; optionally export the ONNX model first. */
async function ghostdetChild(args: string[]): Promise<void> {
  const [config, sizeArg, threadsArg, itersArg, out, onnxOut] = args;
  const [h, w] = sizeArg.split('x').map(Number);
  const info = await initBackend('wasm', Number(threadsArg));
  const { model, classes, transform } = benchDetector(config);
  if (onnxOut) {
    const e = exportOnnx(model, { inputSize: [h, w], postprocess: true, labels: { names: Array.from({ length: classes }, (_, i) => `class${i}`), catIds: Array.from({ length: classes }, (_, i) => i + 1) }, transform, names: { backbone: config, neck: '' } });
    fs.writeFileSync(onnxOut, e.bytes);
  }
  const x = tf.tensor4d(benchInput(h, w).nhwc, [1, h, w, 3]);
  const meta = { id: 0, origWidth: w, origHeight: h, width: w, height: h, scaleX: 1, scaleY: 1, flipped: false };
  let forwardMs = 0, dets = 0;
  const once = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const maps = model.forward(x);
    await Promise.all(headTensors(maps).map((t) => t.data()));
    const t1 = process.hrtime.bigint();
    dets = (await model.predict(maps, [meta]))[0].length;
    tf.dispose(headTensors(maps));
    forwardMs += Number(t1 - t0) / 1e6;
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  await once(); // warm-up
  forwardMs = 0;
  const iters = Number(itersArg);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await once());
  fs.writeFileSync(out, JSON.stringify({ ms: median(times), forwardMs: forwardMs / iters, dets, backend: describeBackend(info) }));
  x.dispose();
  model.dispose();
}

function runGhostdet(config: string, size: [number, number], threads: number, iters: number, onnxOut?: string): { ms: number; forwardMs: number; dets: number; backend: string } {
  const out = path.join(os.tmpdir(), `ghostdet-bench-onnx-${process.pid}.json`);
  execFileSync(process.execPath, [__filename, '--child', config, size.join('x'), String(threads), String(iters), out, ...(onnxOut ? [onnxOut] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as { ms: number; forwardMs: number; dets: number; backend: string };
  fs.rmSync(out, { force: true });
  return r;
}

async function ortSession(file: string, threads: number, profile = false): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    enableProfiling: profile, profileFilePrefix: path.join(os.tmpdir(), `ghostdet-ort-profile-${process.pid}`),
  });
}

async function runOrt(file: string, size: [number, number], threads: number, iters: number): Promise<{ ms: number; dets: number }> {
  const s = await ortSession(file, threads);
  const feeds = { images: new ort.Tensor('float32', benchInput(...size).nchw, [1, 3, ...size]) };
  let dets = 0;
  const once = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const r = await s.run(feeds);
    dets = Array.from(r.labels.data as BigInt64Array).filter((l) => l >= 0n).length;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    for (const t of Object.values(r)) t.dispose();
    return ms;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await once());
  await s.release();
  return { ms: median(times), dets };
}

/** ONNX Runtime's time per operator type over one profiled run (ms, largest first). */
async function ortProfile(file: string, size: [number, number], threads: number): Promise<Record<string, number>> {
  const s = await ortSession(file, threads, true);
  const feeds = { images: new ort.Tensor('float32', benchInput(...size).nchw, [1, 3, ...size]) };
  await s.run(feeds);
  await s.run(feeds);
  s.endProfiling();
  await s.release();
  const prefix = `ghostdet-ort-profile-${process.pid}`;
  const file0 = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(prefix)).map((f) => path.join(os.tmpdir(), f))[0];
  const events = JSON.parse(fs.readFileSync(file0, 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
  fs.rmSync(file0, { force: true });
  // Two runs were profiled: halve the totals.
  const byOp: Record<string, number> = {};
  for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name) byOp[e.args.op_name] = (byOp[e.args.op_name] ?? 0) + e.dur / 2000;
  return Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, sig3(v)]));
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const only = process.env.BENCH_MODELS ? Number(process.env.BENCH_MODELS) : MODELS.length;
  const results: Record<string, unknown>[] = [];
  let backend = '';
  for (const m of MODELS.slice(0, only)) {
    const file = path.join(os.tmpdir(), `ghostdet-bench-${process.pid}.onnx`);
    const runs: Array<Record<string, number>> = [];
    let dets: Record<string, number> = {};
    let forward: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      const run: Record<string, number> = {};
      for (const threads of [1, 2]) {
        const g = runGhostdet(m.config, m.size, threads, m.iters, r === 0 && threads === 1 ? file : undefined);
        backend = g.backend.replace(/, \d+ threads?/, '');
        const o = await runOrt(file, m.size, threads, m.iters);
        run[`ghostdet${threads}t`] = g.ms;
        run[`ort${threads}t`] = o.ms;
        forward[`ghostdet${threads}t`] = sig3(g.forwardMs);
        dets = { ghostdet: g.dets, ort: o.dets };
      }
      console.log(JSON.stringify({ model: m.name, round: r + 1, ...Object.fromEntries(Object.entries(run).map(([k, v]) => [`${k}Ms`, sig3(v)])) }));
      runs.push(run);
    }
    const med = (k: string): number => sig3(median(runs.map((x) => x[k])));
    const ms = { ghostdet1t: med('ghostdet1t'), ort1t: med('ort1t'), ghostdet2t: med('ghostdet2t'), ort2t: med('ort2t') };
    const profile = await ortProfile(file, m.size, 2);
    fs.rmSync(file, { force: true });
    results.push({
      model: m.name, config: m.config, inputSize: m.size, batch: 1, rounds, itersPerRound: m.iters,
      medianMsPerImage: ms,
      fps: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, sig3(1000 / v)])),
      ghostdetVsOrt: { threads1: sig3(ms.ort1t / ms.ghostdet1t), threads2: sig3(ms.ort2t / ms.ghostdet2t) },
      ghostdetForwardMsLastRound: forward,
      detections: dets,
      ortMsPerOpType2Threads: profile,
    });
    console.log(JSON.stringify({ model: m.name, medianMsPerImage: ms, ghostdetVsOrt: results[results.length - 1].ghostdetVsOrt }));
    forward = {};
  }
  const file = writeResults('onnx', 'npm run bench:onnx', {
    backend: `ghostdet: ${backend}; ONNX Runtime ${ort.env.versions.common} (onnxruntime-node, CPU execution provider)`,
    note: 'batch 1, decode + NMS included, preprocessing excluded; ratio = ONNX Runtime ms / ghostdet ms (>1: ghostdet faster)',
    models: results,
  });
  console.error(`wrote ${file}`);
}

if (process.argv[2] === '--child') {
  ghostdetChild(process.argv.slice(3)).catch((e: unknown) => { console.error(e); process.exit(1); });
} else {
  main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
}
