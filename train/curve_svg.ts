/**
 * The training curve as SVG: one line per loss term (left axis), the val
 * bbox mAP (right axis), ticks at round values, a legend. Written as
 * `curve.svg` and, rasterised, `curve.png` at the end of training.
 */
import type { LogRecord } from './log_hook';
import { FONT, esc, n2, svgDoc } from '../eval/svg';
import { svgToPng } from '../eval/svg_png';
import { writeFileAtomic } from '../util/atomic_write';

const W = 720, H = 400;
const LEFT = 64, RIGHT = 64, TOP = 48, BOTTOM = 48;
/** The total loss blue and the mAP orange (matplotlib's first two), the terms after. */
export const LOSS_COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
export const MAP_COLOR = '#ff7f0e';

/** Round tick values covering [0, max]: 1, 2 or 5 × 10^k steps, about `n` of them. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * p;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(+v.toPrecision(12));
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e5 ? v.toExponential(1) : String(+v.toPrecision(6)));

function polyline(pts: Array<[number, number]>, color: string): string {
  if (pts.length === 1) return `<circle cx="${n2(pts[0][0])}" cy="${n2(pts[0][1])}" r="3" fill="${color}"/>`;
  return `<polyline points="${pts.map(([x, y]) => `${n2(x)},${n2(y)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`;
}

export function curveSvg(records: LogRecord[]): string {
  const train = records.filter((r) => r.mode === 'train' && typeof r.loss === 'number');
  const val = records.filter((r) => r.mode === 'val' && typeof r.bbox_mAP === 'number');
  // Loss terms in the order the model reports them: loss first, then its parts.
  const terms = [...new Set(train.flatMap((r) => Object.keys(r).filter((k) => k === 'loss' || k.startsWith('loss_'))))];
  const maxIter = Math.max(1, ...records.map((r) => Number(r.iter) || 0));
  const lossTicks = ticks(Math.max(1e-6, ...train.flatMap((r) => terms.map((t) => Number(r[t]) || 0))));
  const mapTicks = ticks(Math.max(0.01, ...val.map((r) => r.bbox_mAP as number)));
  const iterTicks = ticks(maxIter, 6);
  const maxL = lossTicks.at(-1)!, maxM = mapTicks.at(-1)!, maxI = iterTicks.at(-1)!;
  const X = (it: number): number => LEFT + ((W - LEFT - RIGHT) * it) / maxI;
  const YL = (v: number): number => H - BOTTOM - ((H - TOP - BOTTOM) * v) / maxL;
  const YM = (v: number): number => H - BOTTOM - ((H - TOP - BOTTOM) * v) / maxM;
  const t = (x: number, y: number, s: string, anchor: string, color = '#333', rotate = 0): string =>
    `<text x="${n2(x)}" y="${n2(y)}"${rotate ? ` transform="rotate(${rotate} ${n2(x)} ${n2(y)})"` : ''} text-anchor="${anchor}" font-family="${FONT}" font-size="11" fill="${color}">${esc(s)}</text>`;
  const p: string[] = [];
  for (const v of lossTicks) p.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${n2(YL(v))}" y2="${n2(YL(v))}" stroke="#e5e5e5"/>`, t(LEFT - 6, YL(v) + 4, fmt(v), 'end'));
  for (const v of mapTicks) p.push(t(W - RIGHT + 6, YM(v) + 4, fmt(v), 'start', MAP_COLOR));
  for (const v of iterTicks) p.push(`<line x1="${n2(X(v))}" x2="${n2(X(v))}" y1="${H - BOTTOM}" y2="${H - BOTTOM + 4}" stroke="#333"/>`, t(X(v), H - BOTTOM + 16, fmt(v), 'middle'));
  p.push(`<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${H - TOP - BOTTOM}" fill="none" stroke="#333"/>`);
  p.push(t((LEFT + W - RIGHT) / 2, H - 10, 'iteration', 'middle'), t(16, H / 2, 'loss', 'middle', '#333', -90), t(W - 14, H / 2, 'val bbox mAP', 'middle', MAP_COLOR, 90));
  terms.forEach((term, i) => p.push(polyline(train.filter((r) => typeof r[term] === 'number').map((r) => [X(r.iter as number), YL(r[term] as number)]), LOSS_COLORS[i % LOSS_COLORS.length])));
  if (val.length) p.push(polyline(val.map((r) => [X(r.iter as number), YM(r.bbox_mAP as number)]), MAP_COLOR));
  // Legend along the top.
  const entries = [...terms.map((term, i) => [term, LOSS_COLORS[i % LOSS_COLORS.length]]), ...(val.length ? [['val bbox mAP', MAP_COLOR]] : [])];
  let lx = LEFT;
  for (const [name, color] of entries) {
    p.push(`<line x1="${lx}" x2="${lx + 18}" y1="${TOP - 18}" y2="${TOP - 18}" stroke="${color}" stroke-width="3"/>`, t(lx + 22, TOP - 14, name, 'start'));
    lx += 34 + name.length * 6.6;
  }
  return svgDoc(W, H, p.join(''), '#fff');
}

/** Writes `curve.svg` and `curve.png` (same drawing) for a run's records; returns the PNG path. */
export function writeCurve(pngFile: string, records: LogRecord[]): string {
  const svg = curveSvg(records);
  writeFileAtomic(pngFile.replace(/\.png$/, '.svg'), svg);
  writeFileAtomic(pngFile, svgToPng(svg));
  return pngFile;
}
