/**
 * `npm run bench:train`: training throughput of the main-job detector
 * (configs/retinanet_gghost_cpu_shapes.json: RetinaNet + G-Ghost RegNetX-200MF,
 * GN head, batch 8; `BENCH_CONFIG` names another config, at its own batch
 * size and workers) on random images with fixed boxes, at 128×128 and
 * 320×192 (W×H; `BENCH_SIZES=128x128` picks): forward + backward + AdamW per
 * step, in two layouts of the same cores: one replica with every core as
 * XNNPACK threads, and the config's data-parallel replicas with the cores
 * shared out (what `ghostdet train` runs). A process picks its thread count
 * once, so each layout runs in a child process of this one. Each size also
 * gets where one step's time goes (threaded layout): wall time of forward +
 * loss, backward and optimizer, the ten kernels with the largest share
 * of `tf.profile`'s kernel time, and the wasm heap's size after it (the
 * most memory the steps needed: the heap never shrinks, and stops at 4 GiB).
 * Where a python3 with torch is installed (Debian's python3-torch;
 * BENCH_PYTHON names another), PyTorch's step of the same detector and ours
 * run alternately BENCH_PAIRS times (default 5) and each ratio pairs our run
 * with the PyTorch run before it. Writes bench/results/train.json
 * (train_<config>.json for another config).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../engine/tf';
import { wasmHeapBytes } from '../engine/heap_limit';
import { initBackend, describeBackend, defaultThreads, BackendName, BackendInfo } from '../backend/init_backend';
import { seedInit, Rng } from '../util/rng';
import { buildDetector } from '../detectors/build';
import { loadConfig } from '../configs/schema';
import { computeGrads, applyGrads, Gradients } from '../train/step';
import { AdamW } from '../train/adamw';
import { DataParallel } from '../train/data_parallel';
import type { Batch } from '../data/loader';
import { machine, medianMs, writeResults } from './report';

const mib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : Math.round(bytes / 2 ** 20));

function randomBatch(n: number, h: number, w: number): Batch {
  const rng = new Rng(n);
  const images = new Float32Array(n * h * w * 3).map(() => rng.normal());
  const targets = Array.from({ length: n }, () => ({ boxes: new Float32Array([10, 12, 50, 60, 60, 64, 110, 120]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  return { images, shape: [n, h, w, 3], targets, metas: [], indices: [] };
}

/** `WxH` pairs from BENCH_SIZES (default the two sizes PyTorch was measured at). */
function sizes(): Array<{ w: number; h: number }> {
  return (process.env.BENCH_SIZES ?? '128x128,320x192').split(',').map((t) => {
    const m = /^(\d+)x(\d+)$/.exec(t.trim());
    if (!m) throw new Error(`BENCH_SIZES: "${t}" is not WxH (e.g. 320x192)`);
    return { w: +m[1], h: +m[2] };
  });
}

const MAIN_JOB = path.resolve(__dirname, '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json');

/** The config whose detector is timed: BENCH_CONFIG (relative to the working folder), else the main job. */
function configFile(): string {
  return process.env.BENCH_CONFIG ? path.resolve(process.env.BENCH_CONFIG) : MAIN_JOB;
}

function isMainJob(): boolean {
  return configFile() === MAIN_JOB;
}

interface KernelShare { kernel: string; ms: number; share: number; calls: number }

/** The ten kernels with the most time in one profiled call of `fn`, with their share of all kernel time. */
async function topKernels(fn: () => void): Promise<{ totalKernelMs: number; top: KernelShare[] }> {
  const prof = await tf.profile(fn);
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    const a = byName.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    a.calls++;
    byName.set(k.name, a);
  }
  const total = [...byName.values()].reduce((s, a) => s + a.ms, 0);
  const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
    .map(([kernel, a]) => ({ kernel, ms: +a.ms.toFixed(1), share: +(a.ms / total).toFixed(3), calls: a.calls }));
  return { totalKernelMs: +total.toFixed(1), top };
}

interface Layout { replicas: number; threads: number; profile: boolean }

/** One layout, in this process: step times per size (and the profile when asked). */
async function runLayout(layout: Layout): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'auto', layout.threads);
  console.error(describeBackend(info));
  const { config } = loadConfig(configFile());
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const batchSize = config.train.batchSize;
  seedInit(0);
  const model = buildDetector(config.model);
  model.train();
  const vars = model.trainableVariables();
  const opt = new AdamW({ lr: 1e-4, weightDecay: 1e-4 });
  const dp = layout.replicas > 1 && info.name !== 'tensorflow' ? await DataParallel.start(layout.replicas, info.name, config.model) : undefined;
  const emit = (o: Record<string, unknown>): void => console.log(`BENCH ${JSON.stringify(o)}`);
  for (const { w, h } of sizes()) {
    const batch = randomBatch(batchSize, h, w);
    const inputSize = `${w}x${h}`;
    const lossFn = (): Record<string, tf.Scalar> => model.loss(model.forward(tf.tensor4d(batch.images, batch.shape)), batch.targets);
    const apply = async (g: Gradients): Promise<void> => {
      await applyGrads(vars, g.grads, g.losses.loss, opt, config.train.gradClip);
    };
    const ms = dp
      ? await medianMs(async () => apply(await dp.grads(model, vars, batch)), runs)
      : await medianMs(async () => apply(await computeGrads(lossFn, vars)), runs);
    const replicas = dp?.replicas ?? 1;
    emit({ kind: 'step', replicas, threadsPerReplica: info.threads ?? 1, batchSize, inputSize, stepMs: +ms.toFixed(1), imagesPerSecond: +((batchSize * 1000) / ms).toFixed(2), backend: info });
    if (!layout.profile) continue;
    const forwardMs = await medianMs(() => tf.tidy(() => tf.addN(Object.values(lossFn())).dataSync()), runs, 1);
    let gradsMs = 0, optMs = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const g = await computeGrads(lossFn, vars);
      const t1 = process.hrtime.bigint();
      await apply(g);
      gradsMs += Number(t1 - t0) / 1e6 / runs;
      optMs += Number(process.hrtime.bigint() - t1) / 1e6 / runs;
    }
    const kernels = await topKernels(async () => apply(await computeGrads(lossFn, vars)));
    emit({
      kind: 'profile', inputSize, replicas: 1, threadsPerReplica: info.threads ?? 1,
      wallMs: { forwardAndLoss: +forwardMs.toFixed(1), backward: +Math.max(0, gradsMs - forwardMs).toFixed(1), optimizer: +optMs.toFixed(1) },
      wasmHeapMB: mib(wasmHeapBytes(tf.backend())),
      ...kernels,
    });
  }
  await dp?.stop();
  model.dispose();
}

interface PytorchResults { machine: { cpu: string; cores: number }; torch: string; results: Array<{ inputSize: string; threads: number; imagesPerSecond: number }> }

/**
 * ghostdet's best layout per size against bench/pytorch/retinanet_gghost_step.py's
 * figures, when that file was written on a machine with this CPU and core count.
 */
function pytorchRatios(steps: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const file = path.resolve(__dirname, '..', '..', 'bench', 'results', 'pytorch_train.json');
  if (!fs.existsSync(file)) return [];
  const pt = JSON.parse(fs.readFileSync(file, 'utf8')) as PytorchResults;
  const m = machine();
  if (pt.machine.cpu !== m.cpu || pt.machine.cores !== m.cores) {
    console.error(`${file} comes from another machine (${pt.machine.cpu}, ${pt.machine.cores} cores): no ratio`);
    return [];
  }
  return pt.results.flatMap((r) => {
    const ours = steps.filter((s) => s.inputSize === r.inputSize);
    if (!ours.length) return [];
    const best = ours.reduce((a, b) => ((b.imagesPerSecond as number) > (a.imagesPerSecond as number) ? b : a));
    return [{
      inputSize: r.inputSize, pytorch: `torch ${pt.torch}, ${r.threads} threads`, pytorchImagesPerSecond: r.imagesPerSecond,
      ghostdet: `${best.replicas} replica(s) × ${best.threadsPerReplica} thread(s)`, ghostdetImagesPerSecond: best.imagesPerSecond,
      ratio: +((best.imagesPerSecond as number) / r.imagesPerSecond).toFixed(3),
    }];
  });
}

const PYTORCH_SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'pytorch', 'retinanet_gghost_step.py');

/** The Python that has torch (BENCH_PYTHON, else python3 on PATH or Debian's), or undefined; BENCH_PAIRS=0 skips PyTorch. */
function pytorchPython(): string | undefined {
  if (process.env.BENCH_PAIRS === '0') return undefined;
  const candidates = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['python3', '/usr/bin/python3'];
  return candidates.find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

/** One run of the PyTorch step (bench/pytorch/retinanet_gghost_step.py) on `threads` threads: images/s per size. */
function pytorchRun(python: string, threads: number): PytorchResults {
  const out = path.join(os.tmpdir(), `ghostdet-pytorch-${process.pid}.json`);
  const sizesArg = sizes().map(({ w, h }) => `${w}x${h}`).join(',');
  execFileSync(python, [PYTORCH_SCRIPT, '--threads', String(threads), '--sizes', sizesArg, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as PytorchResults;
  fs.rmSync(out, { force: true });
  return r;
}

interface Pair { inputSize: string; pytorchImagesPerSecond: number; ghostdetImagesPerSecond: number; ratio: number }

/**
 * PyTorch's step and ours run alternately, `pairs` times: this machine's
 * speed drifts by tens of percent within minutes, so each of our runs is
 * compared with the PyTorch run just before it, and the median ratio is
 * the figure.
 */
function pairedRatios(python: string, layout: Layout, threads: number, pairs: number): { pairs: Pair[]; median: Array<{ inputSize: string; ratio: number; min: number; max: number }> } {
  const all: Pair[] = [];
  for (let i = 0; i < pairs; i++) {
    const pt = pytorchRun(python, threads);
    const ours = runChild(layout).filter((l) => l.kind === 'step');
    for (const r of pt.results) {
      const o = ours.find((l) => l.inputSize === r.inputSize);
      if (!o) continue;
      const ratio = +((o.imagesPerSecond as number) / r.imagesPerSecond).toFixed(3);
      all.push({ inputSize: r.inputSize, pytorchImagesPerSecond: r.imagesPerSecond, ghostdetImagesPerSecond: o.imagesPerSecond as number, ratio });
      console.error(`pair ${i + 1}/${pairs} ${r.inputSize}: PyTorch ${r.imagesPerSecond} img/s, ghostdet ${o.imagesPerSecond} img/s → ${ratio}×`);
    }
  }
  const median = [...new Set(all.map((p) => p.inputSize))].map((inputSize) => {
    const rs = all.filter((p) => p.inputSize === inputSize).map((p) => p.ratio).sort((a, b) => a - b);
    return { inputSize, ratio: rs[Math.floor(rs.length / 2)], min: rs[0], max: rs[rs.length - 1] };
  });
  return { pairs: all, median };
}

/** Runs each layout in a child process and collects its `BENCH {…}` lines. */
function runChild(layout: Layout): Array<Record<string, unknown>> {
  const out = execFileSync(process.execPath, [__filename], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, BENCH_TRAIN_LAYOUT: JSON.stringify(layout) },
  });
  return out.split('\n').filter((l) => l.startsWith('BENCH ')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
}

async function main(): Promise<void> {
  if (process.env.BENCH_TRAIN_LAYOUT) return runLayout(JSON.parse(process.env.BENCH_TRAIN_LAYOUT) as Layout);
  const { config } = loadConfig(configFile());
  const cores = defaultThreads();
  const replicas = Math.max(1, config.train.workers);
  const layouts: Layout[] = [{ replicas: 1, threads: cores, profile: true }];
  if (replicas > 1) layouts.push({ replicas, threads: Math.max(1, Math.floor(cores / replicas)), profile: false });
  // What each single-threaded replica runs (our conv GEMMs instead of XNNPACK), alone on the machine.
  if (cores > 1) layouts.push({ replicas: 1, threads: 1, profile: true });
  const lines = layouts.flatMap((l) => runChild(l));
  const steps = lines.filter((l) => l.kind === 'step');
  for (const l of steps) console.log(JSON.stringify({ ...l, backend: undefined }));
  const backend = steps[0]?.backend as BackendInfo | undefined;
  const ratios = isMainJob() ? pytorchRatios(steps) : [];
  for (const r of ratios) console.log(JSON.stringify(r));
  // PyTorch's script builds the main-job detector only.
  const python = isMainJob() ? pytorchPython() : undefined;
  const pairs = python && replicas > 1
    ? pairedRatios(python, layouts[1], cores, Number(process.env.BENCH_PAIRS ?? 5))
    : undefined;
  for (const m of pairs?.median ?? []) console.log(JSON.stringify({ paired: m }));
  const name = isMainJob() ? 'train' : `train_${path.basename(configFile(), '.json')}`;
  // The command as run: the settings that change what is timed, then the script.
  const settings = ['BENCH_CONFIG', 'BENCH_SIZES', 'BENCH_RUNS', 'BENCH_PAIRS', 'GHOSTDET_DNNL', 'GHOSTDET_BACKWARD_RELEASE', 'GHOSTDET_THREADS'].filter((k) => process.env[k] !== undefined);
  const command = [...settings.map((k) => `${k}=${process.env[k]}`), 'npm run bench:train'].join(' ');
  const file = writeResults(name, command, {
    backend,
    config: path.relative(path.resolve(__dirname, '..', '..'), configFile()),
    what: `${isMainJob() ? 'main-job detector' : 'the detector of'} (${path.relative(path.resolve(__dirname, '..', '..'), configFile())}), one training step = forward + backward + AdamW at batch ${config.train.batchSize}; inputSize is W×H; median of \`runs\` steps (BENCH_RUNS) after 2 warm-up steps; each layout (replicas × XNNPACK threads per replica, sharing GHOSTDET_THREADS cores) in its own process; profile: one replica with every core as threads, and one with one thread (what each replica runs, alone), wall ms per phase (backward = gradient step − forward) the top-10 kernels of tf.profile (which times a custom-gradient wrapper as "unnamed scope", around the kernels inside it); wasmHeapMB: the wasm heap after this size's steps (it never shrinks: the most they needed, in this process)`,
    runs: Number(process.env.BENCH_RUNS ?? 5),
    results: steps.map((l) => ({ ...l, kind: undefined, backend: undefined })),
    profiles: lines.filter((l) => l.kind === 'profile').map((l) => ({ ...l, kind: undefined })),
    pytorch: ratios.length ? { file: 'bench/results/pytorch_train.json', ratios } : 'not measured on this machine (see bench/pytorch/retinanet_gghost_step.py)',
    pytorchPaired: pairs
      ? { what: `PyTorch's step (${PYTORCH_SCRIPT.split(path.sep).slice(-3).join('/')}, ${cores} threads) then ghostdet's ${layouts[1].replicas} replicas × ${layouts[1].threads} thread(s), alternately, BENCH_PAIRS times; ratio = ghostdet images/s ÷ the PyTorch run just before`, ...pairs }
      : 'skipped (no python3 with torch, BENCH_PAIRS=0, one replica, or not the main job)',
  });
  console.error(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
