/**
 * Console progress: epoch, iteration, ETA, images/s, each loss term and the LR.
 * On a terminal one line is redrawn; elsewhere (CI, pipes) a line is printed
 * every `every` iterations. Hand-rolled in a few lines rather than a progress
 * bar package: the metrics change every step and the line must stay parseable
 * in logs.
 */
import type { Hook, StepMetrics, TrainContext } from './hooks';

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
}

export class ProgressHook implements Hook {
  readonly name = 'progress';
  private ema = 0;
  private imgsPerSec = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly every = 20, private readonly out: (s: string) => void = (s) => process.stderr.write(s)) {}

  afterStep(c: TrainContext, m: StepMetrics): void {
    this.ema = this.ema ? 0.9 * this.ema + 0.1 * m.seconds : m.seconds;
    this.imgsPerSec = m.images / this.ema;
    const total = c.epochs * c.itersPerEpoch;
    const eta = (total - c.iter) * this.ema;
    const losses = Object.entries(m.losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ');
    const line = `epoch ${c.epoch + 1}/${c.epochs} iter ${c.batchInEpoch}/${c.itersPerEpoch} (${c.iter}/${total}) | ${losses} | lr ${m.lr.toExponential(2)} | ${this.imgsPerSec.toFixed(1)} img/s | ETA ${fmtTime(eta)}`;
    if (this.tty) this.out(`\r${line}\x1b[K`);
    else if (c.iter % this.every === 0 || c.batchInEpoch === c.itersPerEpoch) this.out(line + '\n');
  }

  afterEpoch(): void {
    if (this.tty) this.out('\n');
  }
}
