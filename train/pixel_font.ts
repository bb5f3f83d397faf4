/**
 * A 3×5 pixel font for the few labels the training curve needs (digits and
 * the letters of "loss", "mAP", "iter"), so the PNG carries its scale without
 * a font library.
 */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
  '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001001001001',
  '8': '111101111101111', '9': '111101111001111', '.': '000000000000010', ' ': '000000000000000',
  l: '100100100100111', o: '000111101101111', s: '000111110011111', m: '000111111101101',
  A: '010101111101101', P: '110101110100100', i: '010000010010010', t: '010111010010011',
  e: '000111111100111', r: '000110101100100',
};

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale: number): number {
  return text.length * 4 * scale - scale;
}

/** Draws `text` into an RGB image of width `w` with its top-left corner at (x, y); unknown characters are refused. */
export function drawText(px: Uint8Array, w: number, text: string, x: number, y: number, color: [number, number, number], scale = 2): void {
  const h = px.length / 3 / w;
  [...text].forEach((ch, n) => {
    const g = GLYPHS[ch];
    if (!g) throw new Error(`pixel font has no glyph for ${JSON.stringify(ch)}`);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 3; c++) {
      if (g[r * 3 + c] !== '1') continue;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
        const xx = x + (n * 4 + c) * scale + dx, yy = y + r * scale + dy;
        if (xx >= 0 && xx < w && yy >= 0 && yy < h) px.set(color, (yy * w + xx) * 3);
      }
    }
  });
}
