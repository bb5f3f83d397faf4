/**
 * `ghostdet train`: with a config, trains it; with none, the main job — make
 * the synthetic dataset in the work dir if absent, train the CPU-sized G-Ghost
 * RetinaNet, evaluate on the held-out split, measure FPS, write report.json /
 * report.md / curve.png, and print one final report.
 */
import * as path from 'path';
import { configTable, loadConfig } from '../configs/schema';
import { newestCheckpoint } from '../train/checkpoint';
import { prepareTraining, writeCurve } from '../train/run';
import { evaluateModel } from '../eval/evaluate_model';
import { measureFps } from '../eval/fps';
import { modelCost, writeReport } from '../eval/report';
import { setupBackend } from './setup_backend';
import { defaultThreads } from '../backend/init_backend';
import type { Communicator, Launcher } from '../train/communicator';
import { startCommunicator } from '../train/start_communicator';

export const MAIN_JOB_CONFIG = path.resolve(__dirname, '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json');

export interface TrainArgs {
  backend?: string;
  config?: string;
  set?: string[];
  workDir?: string;
  resume?: string | boolean;
  /** `mpi`: this process is one rank of an MPI job (docs/distributed.md). */
  launcher?: Launcher;
}

export async function runTrain(a: TrainArgs): Promise<void> {
  const comm = await startCommunicator(a.launcher ?? 'none');
  try {
    await trainAs(comm, a);
  } catch (e) {
    // One rank's failure ends the job, with its message, instead of leaving the others waiting in a collective.
    if (comm.size > 1) comm.abort(1, e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    comm.finalize();
  }
}

async function trainAs(comm: Communicator, a: TrainArgs): Promise<void> {
  const t0 = Date.now();
  const mainJob = !a.config;
  const configFile = a.config ?? MAIN_JOB_CONFIG;
  const { config } = loadConfig(configFile, a.set ?? []);
  // Data-parallel replicas share the cores: each gets its part as XNNPACK threads
  // (replicas also run the JS kernels in parallel, which threads cannot).
  // Ranks on one machine share its cores too.
  const info = await setupBackend(a.backend, Math.max(1, Math.floor(defaultThreads() / comm.localSize / Math.max(1, config.train.workers))), comm.rank === 0);
  const onCpu = info.name === 'wasm' || info.name === 'cpu' || info.adapter?.software;
  if (onCpu && comm.rank === 0) console.error(`note: training on ${info.name}${info.adapter?.software ? ' with a software adapter' : ''} is slow; for GPU training see docs/backends.md, section "GPU"`);
  const workDir = path.resolve(a.workDir ?? path.join('work_dirs', path.basename(configFile, '.json')));
  if (comm.rank === 0) {
    console.error(`config ${configFile}${mainJob ? ' (the main job: no -c given)' : ''}; work dir ${workDir}`);
    console.error(configTable(config));
  }
  let resumeFile: string | undefined;
  if (a.resume !== undefined && a.resume !== false) {
    resumeFile = typeof a.resume === 'string' && a.resume !== '' ? a.resume : newestCheckpoint(workDir);
    if (!resumeFile) throw new Error(`--resume: no checkpoint in ${workDir}`);
  }
  const print = (s: string): void => { if (comm.rank === 0) console.error(s); };
  if (comm.size > 1) print(`MPI: ${comm.size} ranks (${comm.localSize} on this machine) × ${config.train.workers} replicas each; global batch ${config.train.batchSize}`);
  const run = prepareTraining(config, workDir, resumeFile, print, comm);
  print(`model: ${run.model.kind} + ${config.model.backbone.name}, ${run.model.numParams().toLocaleString('en-US')} parameters; ${run.train.images.length} training images, ${run.val.dataset.images.length} val images`);
  await run.trainer.run();
  if (comm.rank !== 0) return;
  const curve = writeCurve(run, workDir);
  if (run.trainer.ctx.stopRequested) return;
  // The averaged weights are the trained model from here on (training is over).
  if (run.ema) run.ema.swap();
  // Final numbers: evaluation, then FPS on a BN-folded model.
  const ev = await evaluateModel(run.model, run.val);
  await run.val.close();
  const size = config.data.resize.mode === 'square' ? [config.data.resize.size, config.data.resize.size] : [config.data.resize.scale[1], config.data.resize.scale[0]];
  const [h, w] = size.map((s) => Math.ceil(s / config.data.sizeDivisor) * config.data.sizeDivisor);
  const cost = modelCost(run.model, h, w);
  const fps = await measureFps(run.model, h, w, config.eval.fpsIters);
  const report = {
    mAP: ev.stats[0], fps: fps.inferenceFps, stats: ev.stats, perCategoryAP: ev.perCategoryAP, backend: info.name,
    params: cost.params, macs: cost.macs, inputSize: [h, w] as [number, number], config, fpsDetail: fps,
    trainSeconds: Math.round((Date.now() - t0) / 1000), labels: run.train.labels,
  };
  const files = writeReport(workDir, report, ev.categoryNames);
  console.log(ev.lines.join('\n'));
  console.log(`\n${mainJob ? 'main job' : 'training'} done in ${((Date.now() - t0) / 60000).toFixed(1)} min on ${info.name}: bbox mAP ${ev.stats[0].toFixed(4)} (AP50 ${ev.stats[1].toFixed(4)}), ` +
    `${fps.inferenceFps.toFixed(1)} FPS at ${h}×${w} (forward only ${fps.forwardFps.toFixed(1)}), ${cost.params.toLocaleString('en-US')} params, ${(cost.macs / 1e9).toFixed(3)} GMACs`);
  console.log(`report: ${files.json}, ${files.md}; curve: ${curve}; checkpoints: ${path.join(workDir, 'last.safetensors')}`);
}
