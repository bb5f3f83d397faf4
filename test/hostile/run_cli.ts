/**
 * Runs the real `ghostdet` command in a child process under an address-space
 * limit (`prlimit --as`) and a timeout, and measures its peak resident memory
 * with GNU time where it is installed (.ci/run installs it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');
const GNU_TIME = '/usr/bin/time';

export interface CliRun {
  status: number | null;
  /** stdout and stderr together. */
  output: string;
  /** Peak resident memory in MB, when GNU time is installed. */
  peakMB?: number;
  seconds: number;
  timedOut: boolean;
}

export interface RunLimits {
  /** Address space on top of what an idle Node process reserves (about 0.75 GB). */
  memoryMB: number;
  timeoutS: number;
  /** The command to run (default: this checkout's). */
  cli?: string;
}

/** Node's own address-space reservation, measured once: the limit is on top of it. */
let baseline: number | undefined;
function nodeBaselineMB(): number {
  if (baseline === undefined) {
    const r = spawnSync(process.execPath, ['-e', "process.stdout.write(/VmSize:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"]);
    baseline = Number(r.stdout.toString()) / 1024 || 1024;
  }
  return baseline;
}

export function hasGnuTime(): boolean {
  return fs.existsSync(GNU_TIME);
}

export function runCli(args: string[], limits: RunLimits, cwd: string): CliRun {
  const timeFile = path.join(os.tmpdir(), `ghostdet-time-${process.pid}-${Date.now()}`);
  // coreutils `timeout` kills the command itself (a kill of the wrapper would orphan it); GNU time sees its peak through the waits.
  const cmd = ['timeout', '-s', 'KILL', String(limits.timeoutS), process.execPath, limits.cli ?? CLI, ...args];
  const timed = hasGnuTime() ? [GNU_TIME, '-f', '%M', '-o', timeFile, ...cmd] : cmd;
  const asBytes = Math.round((nodeBaselineMB() + limits.memoryMB) * 2 ** 20);
  const t0 = Date.now();
  const r = spawnSync('prlimit', [`--as=${asBytes}`, '--', ...timed], { cwd, maxBuffer: 64 * 2 ** 20 });
  const seconds = (Date.now() - t0) / 1000;
  let peakMB: number | undefined;
  if (fs.existsSync(timeFile)) {
    const kb = Number(/(\d+)\s*$/.exec(fs.readFileSync(timeFile, 'utf8'))?.[1]);
    if (Number.isFinite(kb)) peakMB = kb / 1024;
    fs.rmSync(timeFile, { force: true });
  }
  return {
    status: r.status, output: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}`, peakMB, seconds,
    timedOut: (r.status === 124 || r.status === 137) && seconds >= limits.timeoutS,
  };
}
