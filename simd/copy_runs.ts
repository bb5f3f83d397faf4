// Strided row copies: `rows` runs of `len` floats, from src + r·srcStride
// to dst + r·dstStride (strides in floats). A split or a concat along any
// axis of a row-major tensor is one such copy per part.

import { f32At } from './heap';

export function copyRuns(src: usize, dst: usize, rows: i32, len: i32, srcStride: i32, dstStride: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = f32At(src, r * srcStride), d = f32At(dst, r * dstStride);
    let i = 0;
    for (; i + 8 <= len; i += 8) {
      v128.store(f32At(d, i), v128.load(f32At(s, i)));
      v128.store(f32At(d, i + 4), v128.load(f32At(s, i + 4)));
    }
    for (; i + 4 <= len; i += 4) v128.store(f32At(d, i), v128.load(f32At(s, i)));
    for (; i < len; i++) store<f32>(f32At(d, i), load<f32>(f32At(s, i)));
  }
}
