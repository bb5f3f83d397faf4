/**
 * A progress bar with rate and ETA for long, countable work (checking a
 * dataset's images, evaluating), drawn with `cli-progress` on stderr. Off a
 * terminal (CI logs, pipes) it prints a plain line every few seconds instead
 * of redrawing.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressBar {
  update(done: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = 'images'): ProgressBar {
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    etaBuffer: 200,
    hideCursor: true,
    barsize: 30,
  });
  const t0 = Date.now();
  bar.start(total, 0, { rate: '0' });
  return {
    update(done: number): void {
      const s = (Date.now() - t0) / 1000;
      bar.update(done, { rate: s > 0 ? (done / s).toFixed(1) : '0' });
    },
    stop(): void {
      bar.stop();
    },
  };
}
