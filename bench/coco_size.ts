/**
 * `npm run bench:coco-size`: the mission's detector
 * (configs/retinanet_gghost_regnetx032_fpn_1x_coco.json: G-Ghost
 * RegNetX-3.2GF, FPN 256 P3–P7, 4-conv RetinaNet head, 80 classes) at the
 * config's padded size 896×1408, batch 1, eval mode with BN folded: the
 * forward pass, timed in alternation with PyTorch's forward of the same model
 * (bench/pytorch/retinanet_gghost_forward.py, same parameter count) on the
 * same threads, `BENCH_ROUNDS` rounds (default 3) of each. ghostdet runs up
 * to three ways in each round on one 2-thread wasm backend: the convs on
 * oneDNN (where @ghostdet/dnnl is built; the default there), on our conv
 * kernels split across the cores with the helper thread (GHOSTDET_DNNL=0),
 * and left to XNNPACK (GHOSTDET_DNNL=0 GHOSTDET_CONV_SPLIT=0). PyTorch's side is skipped without a
 * python3 that has torch (Debian's python3-torch; BENCH_PYTHON names one).
 * Writes bench/results/coco_size.json.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../engine/tf';
import { initBackend, describeBackend } from '../backend/init_backend';
import { dnnl } from '../engine/dnnl';
import { loadConfig } from '../configs/schema';
import { buildDetectorFor } from '../detectors/build';
import { headTensors, readAll } from '../detectors/detector';
import { foldBatchNorms } from '../nn/fold_bn';
import { sig3 } from '../eval/fps';
import { modelCost } from '../eval/report';
import { seedInit } from '../util/rng';
import { writeResults } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const CONFIG = path.join(ROOT, 'configs', 'retinanet_gghost_regnetx032_fpn_1x_coco.json');
const SCRIPT = path.join(ROOT, 'bench', 'pytorch', 'retinanet_gghost_forward.py');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A python3 with torch: BENCH_PYTHON, else python3 on PATH, else Debian's. */
function pytorchPython(): string | undefined {
  const candidates = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['python3', '/usr/bin/python3'];
  return candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

function pytorchMs(python: string, threads: number, h: number, w: number, iters: number): { ms: number; torch: string } {
  const out = path.join(os.tmpdir(), `ghostdet-coco-size-${process.pid}.json`);
  execFileSync(python, [SCRIPT, '--threads', String(threads), '--height', String(h), '--width', String(w), '--iters', String(iters), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as { msPerImage: number; torch: string };
  fs.rmSync(out, { force: true });
  return { ms: r.msPerImage, torch: r.torch };
}

async function main(): Promise<void> {
  const threads = Number(process.env.GHOSTDET_THREADS ?? 2);
  const info = await initBackend('wasm', threads);
  console.error(describeBackend(info));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3), iters = Number(process.env.BENCH_ITERS ?? 2);
  const { config } = loadConfig(CONFIG);
  seedInit(0);
  const model = buildDetectorFor(config.model, config.model.numClasses);
  const div = config.data.sizeDivisor, [long, short] = config.data.resize.scale;
  const H = Math.ceil(short / div) * div, W = Math.ceil(long / div) * div;
  const cost = modelCost(model, H, W);
  foldBatchNorms(model);
  const x = tf.randomUniform([1, H, W, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
  const forward = async (): Promise<void> => {
    const maps = headTensors(model.forward(x));
    await readAll(maps);
    tf.dispose(maps);
  };
  const timeMs = async (onednn: '0' | '1', split: '0' | '1'): Promise<number> => {
    process.env.GHOSTDET_DNNL = onednn;
    process.env.GHOSTDET_CONV_SPLIT = split;
    await forward(); // warm-up (and the helper thread's start, or oneDNN's primitives)
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await forward();
    return Number(process.hrtime.bigint() - t) / 1e6 / iters;
  };
  const haveDnnl = dnnl() !== undefined;
  if (!haveDnnl) console.error('oneDNN addon not built (apt-get install libdnnl-dev, npm rebuild @ghostdet/dnnl): our kernels and XNNPACK only');
  const python = pytorchPython();
  if (!python) console.error('PyTorch not found (apt-get install python3-torch, or BENCH_PYTHON=…): ghostdet only');
  const runs: Array<Record<string, number>> = [];
  let torchVersion: string | undefined;
  for (let r = 0; r < rounds; r++) {
    const run: Record<string, number> = { split: await timeMs('0', '1'), xnnpack: await timeMs('0', '0') };
    if (haveDnnl) run.onednn = await timeMs('1', '1');
    if (python) {
      const pt = pytorchMs(python, threads, H, W, iters);
      run.pytorch = pt.ms;
      torchVersion = pt.torch;
    }
    console.log(JSON.stringify({ round: r + 1, ...Object.fromEntries(Object.entries(run).map(([k, v]) => [`${k}Ms`, sig3(v)])) }));
    runs.push(run);
  }
  delete process.env.GHOSTDET_CONV_SPLIT;
  delete process.env.GHOSTDET_DNNL;
  x.dispose();
  model.dispose();
  const med = (k: string): number | undefined => (runs[0][k] === undefined ? undefined : sig3(median(runs.map((r) => r[k]))));
  const split = med('split')!, xnnpack = med('xnnpack')!, onednn = med('onednn'), pytorch = med('pytorch');
  const gflops = (ms: number | undefined): number | undefined => (ms ? sig3((2 * cost.macs) / ms / 1e6) : undefined);
  const results = {
    backend: `wasm, ${info.threads} XNNPACK threads, SIMD ${info.simd ? 'on' : 'off'}; oneDNN: ${haveDnnl ? dnnl()?.version() + `, ${info.threads} OpenMP threads` : 'not built'}`,
    model: { config: path.relative(ROOT, CONFIG), params: cost.params, gmacs: sig3(cost.macs / 1e9), inputSize: [H, W], batch: 1 },
    pytorch: python ? `torch ${torchVersion}, ${threads} threads (${SCRIPT.replace(ROOT + path.sep, '')})` : 'not run (no torch)',
    rounds, itersPerRound: iters,
    medianMsPerImage: { ghostdetOnednn: onednn, ghostdetSplit: split, ghostdetXnnpack: xnnpack, pytorch },
    ratioVsPytorch: pytorch ? { ghostdetOnednn: onednn ? sig3(pytorch / onednn) : undefined, ghostdetSplit: sig3(pytorch / split), ghostdetXnnpack: sig3(pytorch / xnnpack) } : undefined,
    gflopsPerSecond: { ghostdetOnednn: gflops(onednn), ghostdetSplit: gflops(split), ghostdetXnnpack: gflops(xnnpack), pytorch: gflops(pytorch) },
    runs: runs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, sig3(v)]))),
  };
  console.log(JSON.stringify(results.medianMsPerImage), JSON.stringify(results.ratioVsPytorch ?? {}));
  console.error(`wrote ${writeResults('coco_size', 'npm run bench:coco-size', results)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
