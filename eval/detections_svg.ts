/** Detections as SVG: a box and a "name score" label per detection, over an optional image. */
import { colorOf, label, n2, svgDoc } from './svg';

export interface DrawnDetection {
  box: [number, number, number, number];
  score: number;
  label: number;
}

export interface DetectionsSvgOptions {
  width: number;
  height: number;
  detections: DrawnDetection[];
  names: string[];
  /** Detections below this score are not drawn. */
  scoreThr?: number;
  /** An image under the boxes (a data: URI or a URL); absent in the page, which draws over its own canvas. */
  imageHref?: string;
  /** Ground truth drawn dashed, labelled by name only. */
  truth?: Array<{ box: [number, number, number, number]; label: number }>;
}

/** The boxes and labels only (no <svg> wrapper), for composing panels. */
export function detectionsBody(o: DetectionsSvgOptions): string {
  const stroke = Math.max(1.5, Math.min(o.width, o.height) / 200);
  // About 1/24 of the short side: readable on a 128 px image shown enlarged, not huge on a photo.
  const size = Math.max(6, Math.min(16, Math.round(Math.min(o.width, o.height) / 24)));
  const parts: string[] = [];
  if (o.imageHref) parts.push(`<image href="${o.imageHref}" x="0" y="0" width="${o.width}" height="${o.height}"/>`);
  for (const t of o.truth ?? []) {
    const [x1, y1, x2, y2] = t.box;
    parts.push(`<rect x="${n2(x1)}" y="${n2(y1)}" width="${n2(x2 - x1)}" height="${n2(y2 - y1)}" fill="none" stroke="${colorOf(t.label)}" stroke-width="${n2(stroke)}" stroke-dasharray="${n2(3 * stroke)} ${n2(2 * stroke)}"/>`);
    parts.push(label(o.names[t.label] ?? String(t.label), x1, y1, size, colorOf(t.label)));
  }
  for (const d of o.detections) {
    if (d.score < (o.scoreThr ?? 0)) continue;
    const [x1, y1, x2, y2] = d.box;
    const c = colorOf(d.label);
    parts.push(`<rect x="${n2(x1)}" y="${n2(y1)}" width="${n2(x2 - x1)}" height="${n2(y2 - y1)}" fill="none" stroke="${c}" stroke-width="${n2(stroke)}"/>`);
    // The label sits above the box when there is room, else inside it.
    const ly = y1 - size * 1.35 >= 0 ? y1 - size * 1.35 : y1;
    parts.push(label(`${o.names[d.label] ?? d.label} ${d.score.toFixed(2)}`, x1, ly, size, c));
  }
  return parts.join('');
}

export function detectionsSvg(o: DetectionsSvgOptions): string {
  return svgDoc(o.width, o.height, detectionsBody(o));
}
