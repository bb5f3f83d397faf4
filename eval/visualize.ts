/** Boxes drawn on images (PNG out): predictions with class and score, optionally ground truth beside them. */
import type { RgbImage } from '../data/image';

const PALETTE: Array<[number, number, number]> = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230]];

/** A 3×5 bitmap font for digits, '.', and a few letters, enough for "label 0.87". */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111', '4': '101101111001001',
  '5': '111100111001111', '6': '111100111101111', '7': '111001001001001', '8': '111101111101111', '9': '111101111001111',
  '.': '000000000000010', ' ': '000000000000000', ':': '000010000010000',
};

export function colorOf(label: number): [number, number, number] {
  return PALETTE[label % PALETTE.length];
}

export function drawBox(img: RgbImage, box: [number, number, number, number], color: [number, number, number], thickness = 2): void {
  const [x1, y1, x2, y2] = box.map(Math.round);
  const put = (x: number, y: number): void => {
    if (x >= 0 && y >= 0 && x < img.width && y < img.height) img.data.set(color, (y * img.width + x) * 3);
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = x1; x <= x2; x++) { put(x, y1 + t); put(x, y2 - t); }
    for (let y = y1; y <= y2; y++) { put(x1 + t, y); put(x2 - t, y); }
  }
}

/** Writes `text` (digits, '.', ':' and spaces; other characters are shown by their class colour swatch) at (x, y), scale 2. */
export function drawText(img: RgbImage, text: string, x: number, y: number, color: [number, number, number]): void {
  let cx = Math.round(x);
  for (const ch of text) {
    const g = GLYPHS[ch] ?? '111111111111111';
    for (let i = 0; i < 15; i++) {
      if (g[i] !== '1') continue;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
        const px = cx + (i % 3) * 2 + dx, py = Math.round(y) + Math.floor(i / 3) * 2 + dy;
        if (px >= 0 && py >= 0 && px < img.width && py < img.height) img.data.set(color, (py * img.width + px) * 3);
      }
    }
    cx += 8;
  }
}

/** Side by side: `left` and `right` of equal height → one image. */
export function sideBySide(left: RgbImage, right: RgbImage): RgbImage {
  const width = left.width + right.width, height = Math.max(left.height, right.height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    if (y < left.height) data.set(left.data.subarray(y * left.width * 3, (y + 1) * left.width * 3), y * width * 3);
    if (y < right.height) data.set(right.data.subarray(y * right.width * 3, (y + 1) * right.width * 3), (y * width + left.width) * 3);
  }
  return { width, height, data };
}
