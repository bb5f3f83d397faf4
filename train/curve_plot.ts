/** A small PNG chart of the training loss (and val mAP on a second axis) at the end of training, no plotting library needed. */
import * as fs from 'fs';
import { encodePng } from '../data/image';
import type { LogRecord } from './log_hook';
import { drawText, textWidth } from './pixel_font';

const W = 640, H = 360, M = 44;

function line(px: Uint8Array, pts: Array<[number, number]>, color: [number, number, number]): void {
  const plot = (x: number, y: number): void => {
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
      const xx = Math.round(x) + dx, yy = Math.round(y) + dy;
      if (xx >= 0 && xx < W && yy >= 0 && yy < H) px.set(color, (yy * W + xx) * 3);
    }
  };
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let k = 0; k <= n; k++) plot(x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n);
  }
  for (const [x, y] of pts) for (let d = -2; d <= 2; d++) { plot(x + d, y); plot(x, y + d); }
}

/** The smallest 1, 2 or 5 × 10^k at or above `v` (an axis end that reads well). */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v * (1 - 1e-9)) ?? 10 * p;
}

/** Loss (blue, left axis from 0 to its max) and val mAP (orange, right axis from 0 to a round value above its max) against iterations, with the axis ends labelled. */
export function writeCurvePng(file: string, records: LogRecord[]): void {
  const px = new Uint8Array(W * H * 3).fill(255);
  const train = records.filter((r) => r.mode === 'train' && typeof r.loss === 'number');
  const val = records.filter((r) => r.mode === 'val');
  const maxIter = Math.max(1, ...records.map((r) => Number(r.iter) || 0));
  const maxLoss = Math.max(1e-6, ...train.map((r) => r.loss as number));
  const maxMap = niceCeil(Math.max(1e-3, ...val.map((r) => r.bbox_mAP as number)));
  const X = (it: number): number => M + ((W - 2 * M) * it) / maxIter;
  const Y = (v: number, max: number): number => H - M - ((H - 2 * M) * v) / max;
  line(px, [[M, H - M], [W - M, H - M]], [0, 0, 0]);
  line(px, [[M, M], [M, H - M]], [0, 0, 0]);
  line(px, [[W - M, M], [W - M, H - M]], [0, 0, 0]);
  line(px, train.map((r) => [X(r.iter as number), Y(r.loss as number, maxLoss)]), [31, 119, 180]);
  line(px, val.map((r) => [X(r.iter as number), Y(r.bbox_mAP as number, maxMap)]), [255, 127, 14]);
  const blue: [number, number, number] = [31, 119, 180], orange: [number, number, number] = [255, 127, 14], black: [number, number, number] = [0, 0, 0];
  const top = maxLoss.toPrecision(3);
  drawText(px, W, top, M - 4 - textWidth(top, 2), M - 5, blue);
  drawText(px, W, '0', M - 4 - textWidth('0', 2), H - M - 5, black);
  drawText(px, W, 'loss', M, M - 20, blue);
  drawText(px, W, String(maxMap), W - M + 5, M - 5, orange);
  drawText(px, W, '0', W - M + 5, H - M - 5, black);
  drawText(px, W, 'mAP', W - M - textWidth('mAP', 2), M - 20, orange);
  const it = `iter ${maxIter}`;
  drawText(px, W, it, W - M - textWidth(it, 2), H - M + 8, black);
  fs.writeFileSync(file, encodePng({ width: W, height: H, data: px }));
}
