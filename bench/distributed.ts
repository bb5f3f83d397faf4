/**
 * `npm run bench:distributed`: the main job's training step (RetinaNet
 * G-Ghost, batch 8 at 128², wasm) laid out three ways on this machine:
 * - one process with 2 replicas (worker threads; `train.workers=2`);
 * - 2 MPI ranks with one replica each, over shared memory (Open MPI's vader);
 * - 2 MPI ranks over TCP on the loopback (`--mca btl tcp,self`);
 * - 2 MPI ranks over TCP between two network namespaces joined by a veth
 *   pair (bench/netns_hosts.ts; root only), as two hosts would talk.
 *
 * Each runs `ghostdet train` for one epoch of `BENCH_IMAGES` synthetic images
 * (default 160: 20 steps) and reads its log: the median step time after
 * the first 3 steps, images/s, and for MPI the all-reduce's median share of
 * a step. Needs mpirun and the @ghostdet/mpi addon. Writes
 * bench/results/distributed.json.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sig3 } from '../eval/fps';
import { writeResults } from './report';
import { makeNetnsHosts } from './netns_hosts';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Route { name: string; cmd: string; args: string[] }

function mpirun(extra: string[]): string[] {
  return [...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe', ...extra, '-np', '2', process.execPath, CLI];
}

function measure(r: Route, work: string): Record<string, number> {
  const images = Number(process.env.BENCH_IMAGES ?? 160);
  const sets = [`data.synthetic.images=${images}`, 'data.synthetic.val=8', 'train.epochs=1', 'train.logEvery=1', 'eval.fpsIters=1'].flatMap((s) => ['--set', s]);
  const mpi = r.cmd !== process.execPath;
  const res = spawnSync('timeout', ['-k', '5', '1200', r.cmd, ...r.args, 'train', '--backend', 'wasm', ...sets, '--work-dir', work, ...(mpi ? ['--launcher', 'mpi', '--set', 'train.workers=1'] : ['--set', 'train.workers=2'])],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (res.status !== 0) throw new Error(`${r.name} failed (${res.status}):\n${`${res.stdout}${res.stderr}`.slice(-2000)}`);
  const steps = fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { mode: string; time: number; allreduce_time?: number })
    .filter((s) => s.mode === 'train').slice(3);
  const step = median(steps.map((s) => s.time));
  const out: Record<string, number> = { steps: steps.length, stepMs: sig3(step * 1000), imagesPerSecond: sig3(8 / step) };
  const ar = steps.filter((s) => s.allreduce_time !== undefined);
  if (ar.length) {
    out.allreduceMs = sig3(median(ar.map((s) => s.allreduce_time!)) * 1000);
    out.allreduceShare = sig3(median(ar.map((s) => s.allreduce_time! / s.time)));
  }
  return out;
}

function main(): void {
  if (spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('mpirun not found: apt-get install openmpi-bin libopenmpi-dev, then npm rebuild @ghostdet/mpi');
  const routes: Route[] = [
    { name: '1 process × 2 replicas', cmd: process.execPath, args: [CLI] },
    { name: '2 ranks × 1 replica, shared memory', cmd: 'mpirun', args: mpirun(['--mca', 'btl', 'self,vader']) },
    { name: '2 ranks × 1 replica, TCP (loopback)', cmd: 'mpirun', args: mpirun(['--mca', 'btl', 'self,tcp']) },
  ];
  const hosts = makeNetnsHosts();
  if (typeof hosts === 'string') console.error(`the two-namespace route is skipped: ${hosts}`);
  // Each namespace looks like a machine of its own to MPI: both would bind their rank to core 0 and give it every core's threads.
  // Unbound, with GHOSTDET_THREADS=1, the two ranks get a core each, as on the other routes.
  else routes.push({ name: '2 ranks × 1 replica, TCP between two network namespaces', cmd: hosts.mpirun[0], args: [...hosts.mpirun.slice(1), '--bind-to', 'none', '-x', 'GHOSTDET_THREADS=1', '-np', '2', process.execPath, CLI] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-bench-dist-'));
  const results: Record<string, Record<string, number>> = {};
  try {
    routes.forEach((r, i) => {
      results[r.name] = measure(r, path.join(dir, String(i)));
      console.log(JSON.stringify({ route: r.name, ...results[r.name] }));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    if (typeof hosts !== 'string') hosts.cleanup();
  }
  const mpiVersion = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.error(`wrote ${writeResults('distributed', 'npm run bench:distributed', {
    backend: 'wasm, 1 XNNPACK thread per replica', mpi: mpiVersion, model: 'main job (configs/retinanet_gghost_cpu_shapes.json), batch 8, 128×128',
    note: 'median over the steps after the first 3; allreduceShare = all-reduce seconds / step seconds',
    routes: results,
  })}`);
}

main();
