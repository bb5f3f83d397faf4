// 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", section 4.2): every 4×4
// block of outputs is A^T [(G g G^T) ⊙ (B^T d B)] A for its 6×6 input
// patch d. The 144 multiply-adds per (output block, cin, cout) of the direct
// conv become 36, each of the 36 element positions one GEMM
// [tiles, cin] × [cin, cout] (winograd_gemm.ts): 4× fewer multiply-adds,
// against F(2×2, 3×3)'s 2.25×. Its transforms scale by up to 8 and 1/24, so
// rounding grows (~1e-5 relative against the direct conv's ~1e-6); the
// kernels use it only for maps large enough to repay the larger tiles.
//
//   B^T = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G   = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
//
// The filter packing and the two transforms live here; the chunked driver
// and its geometry are winograd.ts's (`winograd4Conv`).

import { f32At, rowAt, storeLanes } from './heap';

// G's entries as products (a division per filter value made packing cost as much as a small conv).
const SIXTH: f32 = 1.0 / 6.0, TWELFTH: f32 = 1.0 / 12.0, TWENTY_FOURTH: f32 = 1.0 / 24.0;

/** One row of 3 filter taps times G^T: its 6 values. */
@inline function gRow(d: usize, position: usize, e0: i32, a: f32, b: f32, c: f32): void {
  store<f32>(d + <usize>e0 * position, a * 0.25);
  store<f32>(d + <usize>(e0 + 1) * position, -(a + b + c) * SIXTH);
  store<f32>(d + <usize>(e0 + 2) * position, -(a - b + c) * SIXTH);
  store<f32>(d + <usize>(e0 + 3) * position, a * TWENTY_FOURTH + b * TWELFTH + c * SIXTH);
  store<f32>(d + <usize>(e0 + 4) * position, a * TWENTY_FOURTH - b * TWELFTH + c * SIXTH);
  store<f32>(d + <usize>(e0 + 5) * position, c);
}

/**
 * G g G^T of every (k, n) 3×3 filter as `[36, ceil(N / 8), K, 8]` panels,
 * zero past N. `w` is a `[3, 3, fin, fout]` filter; with `flip` the conv
 * wanted is the input gradient's (taps flipped, channels swapped: K = fout,
 * N = fin), else K = fin, N = fout.
 */
export function winograd4PackFilter(w: usize, out: usize, fin: i32, fout: i32, flip: i32): void {
  const K = flip ? fout : fin, N = flip ? fin : fout, blocks = (N + 7) >> 3;
  const tapStride = fin * fout;
  const panel = <usize>K << 5, position = <usize>blocks * panel;
  memory.fill(out, 0, 36 * position);
  for (let k = 0; k < K; k++) {
    for (let o = 0; o < N; o++) {
      const at = flip ? o * fout + k : k * fout + o;
      // Tap (a, b) of the wanted filter; flipped, it reads tap (2 − a, 2 − b).
      const t0 = flip ? 8 : 0, step = flip ? -1 : 1;
      const g00 = load<f32>(f32At(w, (t0 + 0 * step) * tapStride + at)), g01 = load<f32>(f32At(w, (t0 + 1 * step) * tapStride + at));
      const g02 = load<f32>(f32At(w, (t0 + 2 * step) * tapStride + at)), g10 = load<f32>(f32At(w, (t0 + 3 * step) * tapStride + at));
      const g11 = load<f32>(f32At(w, (t0 + 4 * step) * tapStride + at)), g12 = load<f32>(f32At(w, (t0 + 5 * step) * tapStride + at));
      const g20 = load<f32>(f32At(w, (t0 + 6 * step) * tapStride + at)), g21 = load<f32>(f32At(w, (t0 + 7 * step) * tapStride + at));
      const g22 = load<f32>(f32At(w, (t0 + 8 * step) * tapStride + at));
      const d = out + <usize>(o >> 3) * panel + (<usize>k << 5) + (<usize>(o & 7) << 2);
      // Rows of G g (each a row of 3 taps), then each times G^T.
      gRow(d, position, 0, g00 * 0.25, g01 * 0.25, g02 * 0.25);
      gRow(d, position, 6, -(g00 + g10 + g20) * SIXTH, -(g01 + g11 + g21) * SIXTH, -(g02 + g12 + g22) * SIXTH);
      gRow(d, position, 12, -(g00 - g10 + g20) * SIXTH, -(g01 - g11 + g21) * SIXTH, -(g02 - g12 + g22) * SIXTH);
      gRow(d, position, 18, g00 * TWENTY_FOURTH + g10 * TWELFTH + g20 * SIXTH, g01 * TWENTY_FOURTH + g11 * TWELFTH + g21 * SIXTH, g02 * TWENTY_FOURTH + g12 * TWELFTH + g22 * SIXTH);
      gRow(d, position, 24, g00 * TWENTY_FOURTH - g10 * TWELFTH + g20 * SIXTH, g01 * TWENTY_FOURTH - g11 * TWELFTH + g21 * SIXTH, g02 * TWENTY_FOURTH - g12 * TWELFTH + g22 * SIXTH);
      gRow(d, position, 30, g20, g21, g22);
    }
  }
}

/** Row `i` of B^T (as of B) times the 6 values d0..d5, 4 channels at a time. */
@inline function bt(i: i32, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): v128 {
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  if (i == 0) return f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4);
  if (i == 1) return f32x4.add(f32x4.sub(d3, f32x4.mul(four, f32x4.add(d1, d2))), d4);
  if (i == 2) return f32x4.add(f32x4.sub(f32x4.mul(four, f32x4.sub(d1, d2)), d3), d4);
  if (i == 3) return f32x4.add(f32x4.sub(f32x4.mul(two, f32x4.sub(d3, d1)), d2), d4);
  if (i == 4) return f32x4.add(f32x4.sub(f32x4.mul(two, f32x4.sub(d1, d3)), d2), d4);
  return f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5);
}

/** Row `q` of A^T times the 6 values m0..m5. */
@inline function at(q: i32, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128): v128 {
  if (q == 0) return f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), m4);
  if (q == 1) return f32x4.add(f32x4.sub(m1, m2), f32x4.mul(f32x4.splat(2), f32x4.sub(m3, m4)));
  if (q == 2) return f32x4.add(f32x4.add(m1, m2), f32x4.mul(f32x4.splat(4), f32x4.add(m3, m4)));
  return f32x4.add(f32x4.add(f32x4.sub(m1, m2), f32x4.mul(f32x4.splat(8), f32x4.sub(m3, m4))), m5);
}

/** The six outputs of `bt` for d0..d5, stored `step` bytes apart from d. */
@inline function storeBt(d: usize, step: usize, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): void {
  v128.store(d, bt(0, d0, d1, d2, d3, d4, d5));
  v128.store(d + step, bt(1, d0, d1, d2, d3, d4, d5));
  v128.store(d + 2 * step, bt(2, d0, d1, d2, d3, d4, d5));
  v128.store(d + 3 * step, bt(3, d0, d1, d2, d3, d4, d5));
  v128.store(d + 4 * step, bt(4, d0, d1, d2, d3, d4, d5));
  v128.store(d + 5 * step, bt(5, d0, d1, d2, d3, d4, d5));
}

/**
 * B^T d B of tiles t0 … t0 + tiles − 1 (row-major over (b, tile row, tile
 * column)) into rows 0 … tiles4 − 1 of each position's `[chunk, K]` block at
 * v (position e = 6i + j at v + e·vPos); rows past `tiles` are zeros. Two
 * passes over the tile's 36 positions (in L1): B^T down each patch column
 * into position 6i + c, then B along each row in place.
 */
export function transformInputs4(x: usize, zeros: usize, vBase: usize, vPos: usize, rowBytes: usize, t0: i32, tiles: i32, tiles4: i32,
  h: i32, w: i32, top: i32, left: i32, tpi: i32, tw: i32): void {
  for (let i = 0; i < tiles4; i++) {
    const v = vBase + <usize>i * rowBytes;
    if (i >= tiles) {
      for (let e = 0; e < 36; e++) memory.fill(v + <usize>e * vPos, 0, rowBytes);
      continue;
    }
    const t = t0 + i, b = t / tpi, r = t - b * tpi, ty = r / tw, tx = r - ty * tw;
    const iy = ty * 4 - top, ix = tx * 4 - left, base = b * h;
    for (let c = 0; c < 6; c++) {
      const p0 = rowAt(x, zeros, base, iy, ix + c, h, w, rowBytes), p1 = rowAt(x, zeros, base, iy + 1, ix + c, h, w, rowBytes);
      const p2 = rowAt(x, zeros, base, iy + 2, ix + c, h, w, rowBytes), p3 = rowAt(x, zeros, base, iy + 3, ix + c, h, w, rowBytes);
      const p4 = rowAt(x, zeros, base, iy + 4, ix + c, h, w, rowBytes), p5 = rowAt(x, zeros, base, iy + 5, ix + c, h, w, rowBytes);
      const d = v + <usize>c * vPos;
      for (let o: usize = 0; o < rowBytes; o += 16) {
        storeBt(d + o, 6 * vPos, v128.load(p0 + o), v128.load(p1 + o), v128.load(p2 + o), v128.load(p3 + o), v128.load(p4 + o), v128.load(p5 + o));
      }
    }
    for (let row = 0; row < 6; row++) {
      const d = v + <usize>(6 * row) * vPos;
      for (let o: usize = 0; o < rowBytes; o += 16) {
        const q = d + o;
        storeBt(q, vPos, v128.load(q), v128.load(q + vPos), v128.load(q + 2 * vPos), v128.load(q + 3 * vPos), v128.load(q + 4 * vPos), v128.load(q + 5 * vPos));
      }
    }
  }
}


/** A^T applied to the 6 rows of position column j (positions j, 6 + j, …, 30 + j), row q of the result. */
@inline function atColumn(q: i32, m: usize, mPos: usize, j: i32): v128 {
  const p = m + <usize>j * mPos, s = <usize>6 * mPos;
  return at(q, v128.load(p), v128.load(p + s), v128.load(p + 2 * s), v128.load(p + 3 * s), v128.load(p + 4 * s), v128.load(p + 5 * s));
}

/** A^T M A of each F(4×4) tile of the chunk, 4 channels at a time (down each position column, then along each row), into the placed output. */
export function outputs4(y: usize, mBase: usize, mPos: usize, mRow: usize, t0: i32, tiles: i32, tpi: i32, tw: i32,
  outH: i32, outW: i32, N: i32, H: i32, W: i32, yo: i32, xo: i32): void {
  for (let i = 0; i < tiles; i++) {
    const t = t0 + i, b = t / tpi, r = t - b * tpi, ty = r / tw, tx = r - ty * tw;
    const oy = ty * 4, ox = tx * 4, rows = min(4, outH - oy), cols = min(4, outW - ox);
    const y0 = y + <usize>(((b * H + yo + oy) * W + xo + ox) * N) * 4, yRow = <usize>(W * N) << 2, yCol = <usize>N << 2;
    const m = mBase + <usize>i * mRow;
    for (let c = 0; c < N; c += 4) {
      const o = <usize>c << 2, lanes = min(4, N - c);
      for (let p = 0; p < rows; p++) {
        const s0 = atColumn(p, m + o, mPos, 0), s1 = atColumn(p, m + o, mPos, 1), s2 = atColumn(p, m + o, mPos, 2);
        const s3 = atColumn(p, m + o, mPos, 3), s4 = atColumn(p, m + o, mPos, 4), s5 = atColumn(p, m + o, mPos, 5);
        const d = y0 + <usize>p * yRow + o;
        storeLanes(d, at(0, s0, s1, s2, s3, s4, s5), lanes);
        if (cols > 1) storeLanes(d + yCol, at(1, s0, s1, s2, s3, s4, s5), lanes);
        if (cols > 2) storeLanes(d + 2 * yCol, at(2, s0, s1, s2, s3, s4, s5), lanes);
        if (cols > 3) storeLanes(d + 3 * yCol, at(3, s0, s1, s2, s3, s4, s5), lanes);
      }
    }
  }
}
