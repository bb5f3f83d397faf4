/** Shared benchmark plumbing: timing with warm-up, and results files that name the machine and command. */
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic_write';

/** Median wall time in ms of `fn` over `n` runs after `warmup` runs. */
export async function medianMs(fn: () => unknown, n: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

/** Writes `bench/results/<name>.json` with the date, machine and command beside the results. */
export function writeResults(name: string, command: string, results: Record<string, unknown>): string {
  const file = path.resolve(__dirname, '..', '..', 'bench', 'results', `${name}.json`);
  const body = { date: new Date().toISOString(), command, machine: machine(), ...results };
  writeFileAtomic(file, JSON.stringify(body, null, 2) + '\n');
  return file;
}
