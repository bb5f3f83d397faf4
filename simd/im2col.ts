// The transposed im2col of the conv filter gradient, `[kh·kw·C, P]` with
// P = N·outH·outW: row (tap, c) holds input channel c under kernel offset
// `tap` for every output pixel, zeros where the kernel reads padding. Written
// one output row (outW pixels) at a time per channel; at stride 1 with C a
// multiple of 4, 4 pixels × 4 channels are loaded as 4 vectors and
// transposed in registers, so reads and writes are both 16-byte runs.
// Geometry: `g` points at 14 i32 — n, h, w, c, kh, kw, sh, sw, dh, dw, top,
// left, outH, outW.

import { f32At, geo } from './heap';

/** Zeros `len` floats at `dst`. */
@inline function zero(dst: usize, len: i32): void {
  if (len > 0) memory.fill(dst, 0, <usize>len << 2);
}

export function im2colT(x: usize, out: usize, g: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), c = geo(g, 3), kh = geo(g, 4), kw = geo(g, 5);
  const sh = geo(g, 6), sw = geo(g, 7), dh = geo(g, 8), dw = geo(g, 9), top = geo(g, 10), left = geo(g, 11);
  const outH = geo(g, 12), outW = geo(g, 13);
  const P = n * outH * outW;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const rows = (i * kw + j) * c;
      // Output columns whose input column is inside the image for this tap: [ox0, ox1).
      let ox0 = 0;
      while (ox0 < outW && ox0 * sw + j * dw - left < 0) ox0++;
      let ox1 = outW;
      while (ox1 > ox0 && (ox1 - 1) * sw + j * dw - left >= w) ox1--;
      let p = 0;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < outH; oy++, p += outW) {
          const y = oy * sh + i * dh - top;
          if (y < 0 || y >= h) {
            for (let q = 0; q < c; q++) zero(f32At(out, (rows + q) * P + p), outW);
            continue;
          }
          const src = f32At(x, ((b * h + y) * w + ox0 * sw + j * dw - left) * c);
          copyRun(src, f32At(out, rows * P + p), P, c, sw, ox0, ox1, outW);
        }
      }
    }
  }
}

/**
 * One output row of every channel: dst[q·P + t] = src[(t − ox0)·sw·c + q] for t in
 * [ox0, ox1), zero outside (`dst` points at channel 0's run).
 */
@inline function copyRun(src: usize, dst: usize, P: i32, c: i32, sw: i32, ox0: i32, ox1: i32, outW: i32): void {
  let q = 0;
  if (sw == 1) {
    for (; q + 4 <= c; q += 4) {
      const d0 = f32At(dst, q * P), d1 = f32At(dst, (q + 1) * P), d2 = f32At(dst, (q + 2) * P), d3 = f32At(dst, (q + 3) * P);
      zero(d0, ox0); zero(d1, ox0); zero(d2, ox0); zero(d3, ox0);
      let t = ox0;
      for (; t + 4 <= ox1; t += 4) {
        const s = f32At(src, (t - ox0) * c + q);
        const a = v128.load(s), bb = v128.load(f32At(s, c)), cc = v128.load(f32At(s, 2 * c)), dd = v128.load(f32At(s, 3 * c));
        // 4×4 transpose: lanes are channels in, pixels out.
        const ab01 = i32x4.shuffle(a, bb, 0, 4, 1, 5), cd01 = i32x4.shuffle(cc, dd, 0, 4, 1, 5);
        const ab23 = i32x4.shuffle(a, bb, 2, 6, 3, 7), cd23 = i32x4.shuffle(cc, dd, 2, 6, 3, 7);
        v128.store(f32At(d0, t), i64x2.shuffle(ab01, cd01, 0, 2));
        v128.store(f32At(d1, t), i64x2.shuffle(ab01, cd01, 1, 3));
        v128.store(f32At(d2, t), i64x2.shuffle(ab23, cd23, 0, 2));
        v128.store(f32At(d3, t), i64x2.shuffle(ab23, cd23, 1, 3));
      }
      for (; t < ox1; t++) {
        const s = f32At(src, (t - ox0) * c + q);
        store<f32>(f32At(d0, t), load<f32>(s));
        store<f32>(f32At(d1, t), load<f32>(s, 4));
        store<f32>(f32At(d2, t), load<f32>(s, 8));
        store<f32>(f32At(d3, t), load<f32>(s, 12));
      }
      zero(f32At(d0, ox1), outW - ox1); zero(f32At(d1, ox1), outW - ox1); zero(f32At(d2, ox1), outW - ox1); zero(f32At(d3, ox1), outW - ox1);
    }
  }
  for (; q < c; q++) {
    const d = f32At(dst, q * P);
    zero(d, ox0);
    for (let t = ox0, s = q; t < ox1; t++, s += sw * c) store<f32>(f32At(d, t), load<f32>(f32At(src, s)));
    zero(f32At(d, ox1), outW - ox1);
  }
}
