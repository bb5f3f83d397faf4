import { strict as assert } from 'assert';
import { drawText, textWidth } from '../../train/pixel_font';

describe('pixel font (curve labels)', () => {
  it('draws a glyph at its place and scale, and measures text', () => {
    const w = 10, px = new Uint8Array(w * 12 * 3);
    drawText(px, w, '1', 1, 1, [9, 9, 9], 2);
    const on = (x: number, y: number): boolean => px[(y * w + x) * 3] === 9;
    // '1' row 0 is 010: only its middle column, 2×2 pixels at (3..4, 1..2).
    assert.ok(on(3, 1) && on(4, 2) && !on(1, 1) && !on(5, 1));
    // Row 4 is 111: 6 pixels wide at y 9..10.
    for (let x = 1; x < 7; x++) assert.ok(on(x, 10), `x ${x}`);
    assert.equal(textWidth('iter 12', 2), 7 * 8 - 2);
  });

  it('refuses a character it has no glyph for', () => {
    assert.throws(() => drawText(new Uint8Array(300), 10, 'Z', 0, 0, [0, 0, 0]), /no glyph for "Z"/);
  });
});
