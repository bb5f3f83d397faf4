// Training across processes with --launcher mpi, under Open MPI's mpirun:
// - the addon's all-reduce, broadcast and gather, checked exactly on 2 ranks;
// - a 2-rank run (one replica each) against the one-process run with 2
//   replicas: the same losses at every step and the same final weights;
// - a rank killed mid-epoch ends the job non-zero within 30 s, and --resume
//   finishes the run.
// Skipped, with a message, where mpirun or the addon is missing (CI installs
// Open MPI before `npm ci`, which builds the addon).
import { strict as assert } from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSafetensors } from '../../weights/safetensors';
import { makeNetnsHosts } from '../../bench/netns_hosts';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const ADDON = path.join(ROOT, 'packages', 'mpi', 'build', 'ghostdet_mpi.node');
/** A tiny main job: 16 synthetic 64 px images, batches of 4, one epoch unless told otherwise. */
const TINY = ['train.epochs=1', 'data.synthetic.images=16', 'data.synthetic.val=4', 'data.synthetic.size=64', 'data.resize.size=64',
  'train.batchSize=4', 'train.logEvery=1', 'eval.fpsIters=1', 'train.warmupIters=2'].flatMap((s) => ['--set', s]);

/** mpirun's flags here: root is allowed in CI containers, and 2 ranks may exceed the cores. */
function mpirunArgs(np: number): string[] {
  return [...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe', '--mca', 'btl', 'self,vader,tcp', '-np', String(np)];
}

function mpiMissing(): string | undefined {
  if (spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0) return 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev, then npm rebuild @ghostdet/mpi)';
  if (!fs.existsSync(ADDON)) return `${ADDON} not built (npm rebuild @ghostdet/mpi after installing Open MPI)`;
  return undefined;
}

/** Runs a command bounded by `seconds` (killed with its process group after), leaving no /tmp/ompi.* behind. */
function run(cmd: string, args: string[], seconds: number, env: NodeJS.ProcessEnv = {}): { code: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('timeout', ['-k', '5', String(seconds), cmd, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

function trainLosses(workDir: string): Array<Record<string, number>> {
  return fs.readFileSync(path.join(workDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.mode === 'train').map((r) => ({ loss: r.loss as number, loss_cls: r.loss_cls as number, loss_bbox: r.loss_bbox as number, grad_norm: r.grad_norm as number }));
}

/** Open MPI's session folders in /tmp (a killed mpirun leaves its own behind). */
const sessionDirs = (): Set<string> => new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('ompi.')));

describe('training across processes (--launcher mpi)', function () {
  this.timeout(600_000);
  let dir: string;
  let sessionsBefore = new Set<string>();

  before(function () {
    const why = mpiMissing();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-mpi-'));
    sessionsBefore = sessionDirs();
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // Only the session folders these tests made.
    for (const f of sessionDirs()) if (!sessionsBefore.has(f)) fs.rmSync(path.join(os.tmpdir(), f), { recursive: true, force: true });
  });

  it('the addon: all-reduce, broadcast and gather on 2 ranks, exactly', function () {
    const script = path.join(dir, 'collectives.js');
    fs.writeFileSync(script, `
      const mpi = require(${JSON.stringify(path.join(ROOT, 'packages', 'mpi'))}).load();
      const { rank, size } = mpi.init();
      const f32 = Float32Array.from({ length: 1000 }, (_, i) => (rank + 1) * 0.1 * i);
      mpi.allreduceSum(f32);
      const f64 = new Float64Array([rank === 0 ? 1e-17 : 1, 2 ** 60 * (rank + 1)]);
      mpi.allreduceSum(f64);
      const b = new Float32Array(5); if (rank === 0) b.set([1.5, -2, 3.25, 1e-30, 7]);
      mpi.broadcast(b, 0);
      const g = mpi.gatherBytes(Uint8Array.from({ length: rank + 2 }, (_, i) => rank * 10 + i), 0);
      mpi.barrier();
      console.log(JSON.stringify({ rank, size, f32: Array.from(f32.subarray(0, 4)), last: f32[999], f64: Array.from(f64), b: Array.from(b), g: g && g.map((x) => Array.from(x)) }));
      mpi.finalize();
    `);
    const r = run('mpirun', [...mpirunArgs(2), process.execPath, script], 60);
    assert.equal(r.code, 0, r.out);
    const lines = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).sort((a, b) => (a.rank as number) - (b.rank as number));
    assert.equal(lines.length, 2, r.out);
    const sum = (i: number): number => Math.fround(Math.fround(0.1 * i) + Math.fround(0.2 * i));
    for (const l of lines) {
      assert.equal(l.size, 2);
      assert.deepEqual(l.f32, [0, 1, 2, 3].map(sum));
      assert.equal(l.last, sum(999));
      assert.deepEqual(l.f64, [1 + 1e-17, 2 ** 60 * 3]);
      assert.deepEqual(l.b, [1.5, -2, 3.25, Math.fround(1e-30), 7]);
    }
    assert.deepEqual(lines[0].g, [[0, 1], [10, 11, 12]]);
    assert.equal(lines[1].g, null);
  });

  it('the addon refuses wrong arguments with a TypeError naming the call (a process without mpirun is a 1-rank job)', function () {
    const r = run(process.execPath, ['-e', `
      const mpi = require(${JSON.stringify(path.join(ROOT, 'packages', 'mpi'))}).load();
      mpi.init();
      const out = [() => mpi.allreduceSum([1]), () => mpi.allreduceSum(new Int32Array(2)), () => mpi.broadcast(new Float32Array(2)), () => mpi.gatherBytes(new Float32Array(1), 0)]
        .map((f) => { try { f(); return 'accepted'; } catch (e) { return e.constructor.name + ': ' + e.message; } });
      mpi.finalize();
      console.log(JSON.stringify(out));
    `], 60);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out.trim().split('\n').pop()!), [
      'TypeError: ghostdet-mpi: allreduceSum takes a Float32Array or Float64Array',
      'TypeError: ghostdet-mpi: allreduceSum takes a Float32Array or Float64Array',
      'TypeError: ghostdet-mpi: broadcast takes a TypedArray and a root rank',
      'TypeError: ghostdet-mpi: gatherBytes takes a Uint8Array and a root rank',
    ]);
  });

  it('2 ranks × 1 replica train as 1 process × 2 replicas: same losses each step, same final weights', function () {
    const mpi = run('mpirun', [...mpirunArgs(2), process.execPath, CLI, 'train', '--backend', 'wasm', '--launcher', 'mpi', ...TINY, '--set', 'train.workers=1', '--work-dir', path.join(dir, 'mpi')], 300);
    assert.equal(mpi.code, 0, mpi.out.slice(-3000));
    assert.match(mpi.out, /MPI: 2 ranks \(2 on this machine\) × 1 replicas each; global batch 4/);
    const one = run(process.execPath, [CLI, 'train', '--backend', 'wasm', ...TINY, '--set', 'train.workers=2', '--work-dir', path.join(dir, 'one')], 300);
    assert.equal(one.code, 0, one.out.slice(-3000));
    const a = trainLosses(path.join(dir, 'mpi')), b = trainLosses(path.join(dir, 'one'));
    assert.equal(a.length, 3);
    assert.equal(a.length, b.length);
    a.forEach((s, i) => {
      for (const k of Object.keys(s)) assert.ok(Math.abs(s[k] - b[i][k]) <= 1e-4 * Math.abs(b[i][k]), `step ${i + 1} ${k}: ${s[k]} vs ${b[i][k]}`);
    });
    const wa = readSafetensors(path.join(dir, 'mpi', 'last.safetensors')).tensors, wb = readSafetensors(path.join(dir, 'one', 'last.safetensors')).tensors;
    let compared = 0;
    for (const [name, t] of wa) {
      const u = wb.get(name);
      assert.ok(u, `${name} in both`);
      const x = t.data as Float32Array, y = u.data as Float32Array;
      let worst = 0, scale = 0;
      for (let i = 0; i < x.length; i++) { worst = Math.max(worst, Math.abs(x[i] - y[i])); scale = Math.max(scale, Math.abs(y[i])); }
      assert.ok(worst <= 1e-4 * Math.max(scale, 1e-6), `${name}: max |Δ| ${worst} (scale ${scale})`);
      compared++;
    }
    assert.ok(compared > 200, `${compared} tensors compared`);
    // The evaluation shared by the ranks scores what one process scores.
    const val = (w: string): unknown => fs.readFileSync(path.join(dir, w, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { mode: string; stats: number[] }).find((r) => r.mode === 'val')?.stats;
    assert.deepEqual(val('mpi'), val('one'));
    // Rank 0 alone wrote the run's files.
    assert.ok(fs.existsSync(path.join(dir, 'mpi', 'report.json')));
  });

  it('2 ranks × 2 replicas train as 1 process × 4 replicas, within float rounding', function () {
    const mpi = run('mpirun', [...mpirunArgs(2), '--bind-to', 'none', process.execPath, CLI, 'train', '--backend', 'wasm', '--launcher', 'mpi', ...TINY, '--set', 'train.workers=2', '--set', 'train.batchSize=8', '--work-dir', path.join(dir, 'mpi4')], 300);
    assert.equal(mpi.code, 0, mpi.out.slice(-3000));
    const one = run(process.execPath, [CLI, 'train', '--backend', 'wasm', ...TINY, '--set', 'train.workers=4', '--set', 'train.batchSize=8', '--work-dir', path.join(dir, 'one4')], 300);
    assert.equal(one.code, 0, one.out.slice(-3000));
    const a = trainLosses(path.join(dir, 'mpi4')), b = trainLosses(path.join(dir, 'one4'));
    assert.equal(a.length, b.length);
    a.forEach((s, i) => {
      for (const k of Object.keys(s)) assert.ok(Math.abs(s[k] - b[i][k]) <= 1e-4 * Math.abs(b[i][k]), `step ${i + 1} ${k}: ${s[k]} vs ${b[i][k]}`);
    });
  });

  it('a rank that throws ends the job at once, non-zero, with its message', function () {
    // MPMD: rank 1 alone is given a pretrained file that does not exist.
    const common = ['train', '--backend', 'wasm', '--launcher', 'mpi', ...TINY, '--set', 'train.workers=1', '--work-dir', path.join(dir, 'throw')];
    const r = run('mpirun', [...mpirunArgs(1), process.execPath, CLI, ...common, ':', '-np', '1', process.execPath, CLI, ...common, '--set', 'model.backbone.pretrained=/nonexistent/weights.pth'], 60);
    assert.notEqual(r.code, 0);
    assert.ok(r.code !== 124 && r.code !== 137, 'ended by MPI_Abort, not by the timeout');
    assert.match(r.out, /rank 1\/2: model\.backbone\.pretrained: \/nonexistent\/weights\.pth: no such file/);
    assert.ok(r.ms < 30_000, `${r.ms} ms`);
  });

  it('two hosts in network namespaces: a 2-rank training run over TCP completes, and the namespaces are removed', function () {
    const hosts = makeNetnsHosts();
    if (typeof hosts === 'string') {
      console.log(`      skipped: ${hosts}`);
      this.skip();
    }
    try {
      const [cmd, ...rest] = hosts.mpirun;
      const where = path.join(dir, 'where.js');
      fs.writeFileSync(where, `
        const mpi = require(${JSON.stringify(path.join(ROOT, 'packages', 'mpi'))}).load();
        const { rank } = mpi.init();
        const mine = Object.values(require('os').networkInterfaces()).flat().map((a) => a.address).filter((a) => ${JSON.stringify(hosts.addresses)}.includes(a));
        console.log(JSON.stringify({ rank, mine }));
        mpi.finalize();
      `);
      const probe = run(cmd, [...rest, '-np', '2', process.execPath, where], 60);
      assert.equal(probe.code, 0, probe.out);
      const seen = probe.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; mine: string[] }).sort((a, b) => a.rank - b.rank);
      assert.deepEqual(seen.map((s) => s.mine), [[hosts.addresses[0]], [hosts.addresses[1]]], 'each rank sees only its own namespace\'s address');
      const train = run(cmd, [...rest, '-np', '2', process.execPath, CLI, 'train', '--backend', 'wasm', '--launcher', 'mpi', ...TINY, '--set', 'train.workers=1', '--work-dir', path.join(dir, 'netns')], 300);
      assert.equal(train.code, 0, train.out.slice(-3000));
      assert.equal(trainLosses(path.join(dir, 'netns')).length, 3);
    } finally {
      hosts.cleanup();
    }
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!left.includes(`gd${process.pid % 100000}a`) && !left.includes(`gd${process.pid % 100000}b`), `namespaces left: ${left}`);
  });

  it('a rank killed mid-epoch ends the job non-zero within 30 s; --resume completes the run', async function () {
    const work = path.join(dir, 'kill');
    const args = [...mpirunArgs(2), process.execPath, CLI, 'train', '--backend', 'wasm', '--launcher', 'mpi', ...TINY, '--set', 'train.epochs=3', '--set', 'train.workers=1', '--work-dir', work];
    const job = spawn('timeout', ['-k', '5', '300', 'mpirun', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    job.stdout.on('data', (d) => { out += String(d); });
    job.stderr.on('data', (d) => { out += String(d); });
    const exited = new Promise<number | null>((resolve) => job.on('exit', (code) => resolve(code)));
    // Wait for the first epoch's checkpoint and the second epoch's first step, then kill one rank.
    const deadline = Date.now() + 240_000;
    while (!/epoch 2\/3 iter 1\//.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(/epoch 2\/3 iter 1\//.test(out), `the run reached epoch 2:\n${out.slice(-2000)}`);
    const ranks = spawnSync('pgrep', ['-f', '--', `--work-dir ${work}`], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number)
      .filter((pid) => pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(process.execPath));
    assert.ok(ranks.length >= 2, `found the rank processes (${ranks.join(', ')})`);
    const t0 = Date.now();
    process.kill(ranks[ranks.length - 1], 'SIGKILL');
    const code = await exited;
    const seconds = (Date.now() - t0) / 1000;
    assert.notEqual(code, 0, 'the job failed');
    assert.ok(seconds < 30, `the job ended ${seconds} s after the kill`);
    assert.ok(fs.existsSync(path.join(work, 'last.safetensors')), 'epoch 1 left a checkpoint');
    const resumed = run('mpirun', [...args, '--resume'], 300);
    assert.equal(resumed.code, 0, resumed.out.slice(-3000));
    assert.match(resumed.out, /resumed from .*epoch 1/);
    const epochs = fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { mode: string; epoch: number })
      .filter((r) => r.mode === 'epoch').map((r) => r.epoch);
    assert.equal(Math.max(...epochs), 3, 'the resumed run finished epoch 3');
  });
});
