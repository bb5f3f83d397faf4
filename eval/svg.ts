/**
 * The SVG vocabulary shared by every picture ghostdet draws (detections in
 * the CLI and in the browser page, the training curve): escaping, the class
 * palette, text with a backing box. Pure strings, no DOM: the same code runs
 * in Node and in the page.
 */

/** Tableau-like colours, distinct on photos; class k takes `PALETTE[k % n]`. */
export const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#0082c8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#d2f53c', '#fabebe', '#008080', '#aa6e28'];

export const FONT = 'DejaVu Sans, Verdana, sans-serif';

export function colorOf(label: number): string {
  return PALETTE[label % PALETTE.length];
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short decimal for coordinates (keeps files small, exact to 0.01 px). */
export const n2 = (v: number): string => String(Math.round(v * 100) / 100);

/** Average advance of DejaVu Sans per em: enough to size a label's backing box. */
const EM_ADVANCE = 0.6;

export function textWidth(text: string, size: number): number {
  return text.length * size * EM_ADVANCE;
}

/** Text on a filled box, its top-left corner at (x, y). */
/** Black on light fills (yellow, cyan), white on dark ones. */
function textOn(fill: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(fill.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#000' : '#fff';
}

export function label(text: string, x: number, y: number, size: number, fill: string, color = textOn(fill)): string {
  const w = textWidth(text, size) + size * 0.6, h = size * 1.35;
  return `<rect x="${n2(x)}" y="${n2(y)}" width="${n2(w)}" height="${n2(h)}" fill="${fill}"/>` +
    `<text x="${n2(x + size * 0.3)}" y="${n2(y + size * 1.05)}" font-family="${FONT}" font-size="${size}" fill="${color}">${esc(text)}</text>`;
}

export function svgDoc(width: number, height: number, body: string, background?: string): string {
  const bg = background ? `<rect width="100%" height="100%" fill="${background}"/>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bg}${body}</svg>`;
}
