// 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"):
// every 2×2 block of outputs is A^T [(G g G^T) ⊙ (B^T d B)] A, for its 4×4
// input patch d, so the 36 multiply-adds per (output block, cin, cout) of
// the direct conv become 16, each of the 16 element positions one GEMM
// [tiles, cin] × [cin, cout]: 2.25× fewer multiply-adds, and the
// transforms only add, subtract and halve (results within float rounding of
// the direct conv's, ~1e-6 relative).
//
// Tiles are taken in chunks (their transformed inputs and products stay in
// L2): transform the chunk's input patches, 16 GEMMs on the 4×8 register
// tile of conv_gemm.ts, transform back into the output.
//
// Geometry `g` (i32s): n, h, w, K (input channels, a multiple of 4), outH,
// outW, N (output channels), top, left, then the output placement H, W, y0,
// x0 (output pixel (b, oy, ox) lands at row y0 + oy, column x0 + ox of a
// `[n, H, W, N]` map), then the chunk size in tiles (a multiple of 4).

import { f32At, geo, rowAt, storeLanes } from './heap';
import { madd } from './madd';
import { positionGemms } from './winograd_gemm';
import { outputs4, transformInputs4 } from './winograd4';


/**
 * G g G^T of every (k, n) 3×3 filter as `[16, ceil(N / 8), K, 8]` panels,
 * zero past N. `w` is a `[3, 3, fin, fout]` filter; with `flip` the conv
 * wanted is the input gradient's (taps flipped, channels swapped: K = fout,
 * N = fin), else K = fin, N = fout.
 */
export function winogradPackFilter(w: usize, out: usize, fin: i32, fout: i32, flip: i32): void {
  const K = flip ? fout : fin, N = flip ? fin : fout, blocks = (N + 7) >> 3;
  const tapStride = fin * fout;
  const panel = <usize>K << 5, position = <usize>blocks * panel;
  memory.fill(out, 0, 16 * position);
  for (let k = 0; k < K; k++) {
    for (let o = 0; o < N; o++) {
      const at = flip ? o * fout + k : k * fout + o;
      // g[a][b]; flipped taps read (2 − a, 2 − b).
      let g00: f32, g01: f32, g02: f32, g10: f32, g11: f32, g12: f32, g20: f32, g21: f32, g22: f32;
      if (flip) {
        g00 = load<f32>(f32At(w, 8 * tapStride + at)); g01 = load<f32>(f32At(w, 7 * tapStride + at)); g02 = load<f32>(f32At(w, 6 * tapStride + at));
        g10 = load<f32>(f32At(w, 5 * tapStride + at)); g11 = load<f32>(f32At(w, 4 * tapStride + at)); g12 = load<f32>(f32At(w, 3 * tapStride + at));
        g20 = load<f32>(f32At(w, 2 * tapStride + at)); g21 = load<f32>(f32At(w, tapStride + at)); g22 = load<f32>(f32At(w, at));
      } else {
        g00 = load<f32>(f32At(w, at)); g01 = load<f32>(f32At(w, tapStride + at)); g02 = load<f32>(f32At(w, 2 * tapStride + at));
        g10 = load<f32>(f32At(w, 3 * tapStride + at)); g11 = load<f32>(f32At(w, 4 * tapStride + at)); g12 = load<f32>(f32At(w, 5 * tapStride + at));
        g20 = load<f32>(f32At(w, 6 * tapStride + at)); g21 = load<f32>(f32At(w, 7 * tapStride + at)); g22 = load<f32>(f32At(w, 8 * tapStride + at));
      }
      // G g: rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2.
      const r10 = (g00 + g10 + g20) * 0.5, r11 = (g01 + g11 + g21) * 0.5, r12 = (g02 + g12 + g22) * 0.5;
      const r20 = (g00 - g10 + g20) * 0.5, r21 = (g01 - g11 + g21) * 0.5, r22 = (g02 - g12 + g22) * 0.5;
      const d = out + <usize>(o >> 3) * panel + (<usize>k << 5) + (<usize>(o & 7) << 2);
      rowTimesGt(d, position, 0, g00, g01, g02);
      rowTimesGt(d, position, 4, r10, r11, r12);
      rowTimesGt(d, position, 8, r20, r21, r22);
      rowTimesGt(d, position, 12, g20, g21, g22);
    }
  }
}

/** One row of (G g) times G^T, its 3 values → positions e0..e0 + 3 (`position` bytes apart from d). */
@inline function rowTimesGt(d: usize, position: usize, e0: i32, a: f32, b: f32, c: f32): void {
  store<f32>(d + <usize>e0 * position, a);
  store<f32>(d + <usize>(e0 + 1) * position, (a + b + c) * 0.5);
  store<f32>(d + <usize>(e0 + 2) * position, (a - b + c) * 0.5);
  store<f32>(d + <usize>(e0 + 3) * position, c);
}


/** B^T applied to a column of 4 (d0..d3): d0 − d2, d1 + d2, d2 − d1, d1 − d3. */
@inline function bt0(d0: v128, d2: v128): v128 { return f32x4.sub(d0, d2); }
@inline function bt1(d1: v128, d2: v128): v128 { return f32x4.add(d1, d2); }
@inline function bt2(d1: v128, d2: v128): v128 { return f32x4.sub(d2, d1); }
@inline function bt3(d1: v128, d3: v128): v128 { return f32x4.sub(d1, d3); }

/** One row of B^T d (its 4 columns, 4 channels each) times B, stored at positions e0..e0 + 3 of v. */
@inline function transformPatchRow(v: usize, position: usize, e0: i32, a0: v128, a1: v128, a2: v128, a3: v128): void {
  v128.store(v + <usize>e0 * position, bt0(a0, a2));
  v128.store(v + <usize>(e0 + 1) * position, bt1(a1, a2));
  v128.store(v + <usize>(e0 + 2) * position, bt2(a1, a2));
  v128.store(v + <usize>(e0 + 3) * position, bt3(a1, a3));
}

/**
 * Winograd conv (see the file comment); `u` from `winogradPackFilter`,
 * `zeros` K zero floats, `scratch` 16·chunk·(K + 8·ceil(N/8)) floats.
 */
export function winogradConv(x: usize, u: usize, y: usize, g: usize, zeros: usize, scratch: usize): void {
  convChunks(x, u, y, g, zeros, scratch, false);
}

/**
 * F(4×4, 3×3) (simd/winograd4.ts); `u` from `winograd4PackFilter`, `zeros`
 * K zero floats, `scratch` 36·chunk·(K + 8·ceil(N/8)) floats.
 */
export function winograd4Conv(x: usize, u: usize, y: usize, g: usize, zeros: usize, scratch: usize): void {
  convChunks(x, u, y, g, zeros, scratch, true);
}

/** Tiles in chunks: input transforms, one GEMM per position, output transforms; `four` picks F(4×4) over F(2×2). */
function convChunks(x: usize, u: usize, y: usize, g: usize, zeros: usize, scratch: usize, four: bool): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), K = geo(g, 3), outH = geo(g, 4), outW = geo(g, 5), N = geo(g, 6);
  const top = geo(g, 7), left = geo(g, 8), H = geo(g, 9), W = geo(g, 10), yo = geo(g, 11), xo = geo(g, 12), chunk = geo(g, 13);
  const side = four ? 4 : 2, positions = four ? 36 : 16;
  const th = (outH + side - 1) / side, tw = (outW + side - 1) / side, T = n * th * tw, tpi = th * tw;
  const blocks = (N + 7) >> 3, N8 = blocks << 3;
  const rowBytes = <usize>K << 2, vPos = <usize>chunk * rowBytes, mRow = <usize>N8 << 2, mPos = <usize>chunk * mRow;
  const panel = <usize>K << 5, uPos = <usize>blocks * panel;
  const vBase = scratch, mBase = scratch + <usize>positions * vPos;
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const tiles = min(chunk, T - t0), tiles4 = (tiles + 3) & ~3;
    if (four) transformInputs4(x, zeros, vBase, vPos, rowBytes, t0, tiles, tiles4, h, w, top, left, tpi, tw);
    else transformInputs(x, zeros, vBase, vPos, rowBytes, t0, tiles, tiles4, h, w, top, left, tpi, tw);
    // One GEMM per position: M_e[tile, :] = V_e[tile, :] · U_e.
    positionGemms(positions, vBase, vPos, rowBytes, u, uPos, panel, blocks, mBase, mPos, mRow, tiles4);
    if (four) outputs4(y, mBase, mPos, mRow, t0, tiles, tpi, tw, outH, outW, N, H, W, yo, xo);
    else outputs2(y, mBase, mPos, mRow, t0, tiles, tpi, tw, outH, outW, N, H, W, yo, xo);
  }
}

/** A^T M A of each F(2×2) tile of the chunk, 4 channels at a time, into the placed output. */
function outputs2(y: usize, mBase: usize, mPos: usize, mRow: usize, t0: i32, tiles: i32, tpi: i32, tw: i32,
  outH: i32, outW: i32, N: i32, H: i32, W: i32, yo: i32, xo: i32): void {
  for (let i = 0; i < tiles; i++) {
    const t = t0 + i, b = t / tpi, r = t - b * tpi, ty = r / tw, tx = r - ty * tw;
    const oy = ty * 2, ox = tx * 2;
    const two = oy + 1 < outH, twoX = ox + 1 < outW;
    const y00 = y + <usize>(((b * H + yo + oy) * W + xo + ox) * N) * 4;
    const y01 = y00 + (<usize>N << 2), y10 = y00 + (<usize>(W * N) << 2), y11 = y10 + (<usize>N << 2);
    const m = mBase + <usize>i * mRow;
    for (let c = 0; c < N; c += 4) {
      const o = <usize>c << 2;
      // Rows of A^T M: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 over each row's 4 positions, then the same down the columns.
      const m0 = v128.load(m + o), m1 = v128.load(m + mPos + o), m2 = v128.load(m + 2 * mPos + o), m3 = v128.load(m + 3 * mPos + o);
      const m4 = v128.load(m + 4 * mPos + o), m5 = v128.load(m + 5 * mPos + o), m6 = v128.load(m + 6 * mPos + o), m7 = v128.load(m + 7 * mPos + o);
      const m8 = v128.load(m + 8 * mPos + o), m9 = v128.load(m + 9 * mPos + o), m10 = v128.load(m + 10 * mPos + o), m11 = v128.load(m + 11 * mPos + o);
      const m12 = v128.load(m + 12 * mPos + o), m13 = v128.load(m + 13 * mPos + o), m14 = v128.load(m + 14 * mPos + o), m15 = v128.load(m + 15 * mPos + o);
      const a0 = f32x4.add(f32x4.add(m0, m1), m2), b0 = f32x4.sub(f32x4.sub(m1, m2), m3);
      const a1 = f32x4.add(f32x4.add(m4, m5), m6), b1 = f32x4.sub(f32x4.sub(m5, m6), m7);
      const a2 = f32x4.add(f32x4.add(m8, m9), m10), b2 = f32x4.sub(f32x4.sub(m9, m10), m11);
      const a3 = f32x4.add(f32x4.add(m12, m13), m14), b3 = f32x4.sub(f32x4.sub(m13, m14), m15);
      const o00 = f32x4.add(f32x4.add(a0, a1), a2), o01 = f32x4.add(f32x4.add(b0, b1), b2);
      const o10 = f32x4.sub(f32x4.sub(a1, a2), a3), o11 = f32x4.sub(f32x4.sub(b1, b2), b3);
      const lanes = min(4, N - c);
      storeLanes(y00 + o, o00, lanes);
      if (twoX) storeLanes(y01 + o, o01, lanes);
      if (two) {
        storeLanes(y10 + o, o10, lanes);
        if (twoX) storeLanes(y11 + o, o11, lanes);
      }
    }
  }
}

/**
 * B^T d B of tiles t0 … t0 + tiles − 1 (row-major over (b, tile row, tile
 * column)) into rows 0 … tiles4 − 1 of each position's `[chunk, K]` block
 * at v (position e at v + e·vPos); rows past `tiles` are zeros.
 */
function transformInputs(x: usize, zeros: usize, vBase: usize, vPos: usize, rowBytes: usize, t0: i32, tiles: i32, tiles4: i32,
  h: i32, w: i32, top: i32, left: i32, tpi: i32, tw: i32): void {
  for (let i = 0; i < tiles4; i++) {
    const v = vBase + <usize>i * rowBytes;
    if (i >= tiles) {
      // Rows past the last tile: zeros, so the GEMM reads defined values.
      for (let e = 0; e < 16; e++) memory.fill(v + <usize>e * vPos, 0, rowBytes);
      continue;
    }
    const t = t0 + i, b = t / tpi, r = t - b * tpi, ty = r / tw, tx = r - ty * tw;
    const iy = ty * 2 - top, ix = tx * 2 - left, base = b * h;
    const p00 = rowAt(x, zeros, base, iy, ix, h, w, rowBytes), p01 = rowAt(x, zeros, base, iy, ix + 1, h, w, rowBytes);
    const p02 = rowAt(x, zeros, base, iy, ix + 2, h, w, rowBytes), p03 = rowAt(x, zeros, base, iy, ix + 3, h, w, rowBytes);
    const p10 = rowAt(x, zeros, base, iy + 1, ix, h, w, rowBytes), p11 = rowAt(x, zeros, base, iy + 1, ix + 1, h, w, rowBytes);
    const p12 = rowAt(x, zeros, base, iy + 1, ix + 2, h, w, rowBytes), p13 = rowAt(x, zeros, base, iy + 1, ix + 3, h, w, rowBytes);
    const p20 = rowAt(x, zeros, base, iy + 2, ix, h, w, rowBytes), p21 = rowAt(x, zeros, base, iy + 2, ix + 1, h, w, rowBytes);
    const p22 = rowAt(x, zeros, base, iy + 2, ix + 2, h, w, rowBytes), p23 = rowAt(x, zeros, base, iy + 2, ix + 3, h, w, rowBytes);
    const p30 = rowAt(x, zeros, base, iy + 3, ix, h, w, rowBytes), p31 = rowAt(x, zeros, base, iy + 3, ix + 1, h, w, rowBytes);
    const p32 = rowAt(x, zeros, base, iy + 3, ix + 2, h, w, rowBytes), p33 = rowAt(x, zeros, base, iy + 3, ix + 3, h, w, rowBytes);
    for (let o: usize = 0; o < rowBytes; o += 16) {
      // Columns first (B^T d): c_ij for patch column j.
      const d00 = v128.load(p00 + o), d01 = v128.load(p01 + o), d02 = v128.load(p02 + o), d03 = v128.load(p03 + o);
      const d10 = v128.load(p10 + o), d11 = v128.load(p11 + o), d12 = v128.load(p12 + o), d13 = v128.load(p13 + o);
      const d20 = v128.load(p20 + o), d21 = v128.load(p21 + o), d22 = v128.load(p22 + o), d23 = v128.load(p23 + o);
      const d30 = v128.load(p30 + o), d31 = v128.load(p31 + o), d32 = v128.load(p32 + o), d33 = v128.load(p33 + o);
      const vo = v + o;
      // Row 0 of B^T d is d0 − d2, row 1 d1 + d2, row 2 d2 − d1, row 3 d1 − d3; then each row times B.
      transformPatchRow(vo, vPos, 0, bt0(d00, d20), bt0(d01, d21), bt0(d02, d22), bt0(d03, d23));
      transformPatchRow(vo, vPos, 4, bt1(d10, d20), bt1(d11, d21), bt1(d12, d22), bt1(d13, d23));
      transformPatchRow(vo, vPos, 8, bt2(d10, d20), bt2(d11, d21), bt2(d12, d22), bt2(d13, d23));
      transformPatchRow(vo, vPos, 12, bt3(d10, d30), bt3(d11, d31), bt3(d12, d32), bt3(d13, d33));
    }
  }
}

/**
 * A dY A^T of each tile's 2×2 output gradients (zeros past the map) into
 * rows 0 … tiles4 − 1 of each position's `[chunk, N8]` block at z (position
 * e at z + e·zPos), channels past N zero.
 */
function transformOutputGrads(dy: usize, zBase: usize, zPos: usize, zRow: usize, t0: i32, tiles: i32, tiles4: i32,
  outH: i32, outW: i32, N: i32, tpi: i32, tw: i32): void {
  const N4 = N & ~3;
  for (let i = 0; i < tiles4; i++) {
    const z = zBase + <usize>i * zRow;
    if (i >= tiles) {
      for (let e = 0; e < 16; e++) memory.fill(z + <usize>e * zPos, 0, zRow);
      continue;
    }
    const t = t0 + i, b = t / tpi, r = t - b * tpi, ty = r / tw, tx = r - ty * tw;
    const oy = ty * 2, ox = tx * 2, two = oy + 1 < outH, twoX = ox + 1 < outW;
    const rowBytes = <usize>N << 2;
    const q00 = dy + <usize>((b * outH + oy) * outW + ox) * rowBytes, q01 = q00 + rowBytes;
    const q10 = q00 + <usize>outW * rowBytes, q11 = q10 + rowBytes;
    const zero = f32x4.splat(0);
    for (let c = 0; c < N4; c += 4) {
      const o = <usize>c << 2;
      const y00 = v128.load(q00 + o), y01 = twoX ? v128.load(q01 + o) : zero;
      const y10 = two ? v128.load(q10 + o) : zero, y11 = two && twoX ? v128.load(q11 + o) : zero;
      storeZ(z + o, zPos, y00, y01, y10, y11);
    }
    if (N4 < N) {
      // The last 1–3 channels through lanes, zero beyond.
      let y00 = zero, y01 = zero, y10 = zero, y11 = zero;
      for (let c = N4; c < N; c++) {
        const o = <usize>c << 2, l = c - N4;
        const v00 = load<f32>(q00 + o), v01 = twoX ? load<f32>(q01 + o) : 0;
        const v10: f32 = two ? load<f32>(q10 + o) : 0, v11: f32 = two && twoX ? load<f32>(q11 + o) : 0;
        y00 = l == 0 ? f32x4.replace_lane(y00, 0, v00) : l == 1 ? f32x4.replace_lane(y00, 1, v00) : f32x4.replace_lane(y00, 2, v00);
        y01 = l == 0 ? f32x4.replace_lane(y01, 0, v01) : l == 1 ? f32x4.replace_lane(y01, 1, v01) : f32x4.replace_lane(y01, 2, v01);
        y10 = l == 0 ? f32x4.replace_lane(y10, 0, v10) : l == 1 ? f32x4.replace_lane(y10, 1, v10) : f32x4.replace_lane(y10, 2, v10);
        y11 = l == 0 ? f32x4.replace_lane(y11, 0, v11) : l == 1 ? f32x4.replace_lane(y11, 1, v11) : f32x4.replace_lane(y11, 2, v11);
      }
      storeZ(z + (<usize>N4 << 2), zPos, y00, y01, y10, y11);
    }
    // Channels N4 + 4 … N8: zeros (the GEMM reads whole 8-channel blocks).
    const filled = <usize>((N + 3) & ~3) << 2;
    if (filled < zRow) for (let e = 0; e < 16; e++) memory.fill(z + <usize>e * zPos + filled, 0, zRow - filled);
  }
}

/** A [y0; y1] A^T for a 2×2 block: rows y0, y0 + y1, y0 − y1, −y1, each row [a, b] → [a, a + b, a − b, −b]. */
@inline function storeZ(z: usize, zPos: usize, y00: v128, y01: v128, y10: v128, y11: v128): void {
  const zero = f32x4.splat(0);
  storeZRow(z, zPos, 0, y00, y01);
  storeZRow(z, zPos, 4, f32x4.add(y00, y10), f32x4.add(y01, y11));
  storeZRow(z, zPos, 8, f32x4.sub(y00, y10), f32x4.sub(y01, y11));
  storeZRow(z, zPos, 12, f32x4.sub(zero, y10), f32x4.sub(zero, y11));
}

@inline function storeZRow(z: usize, zPos: usize, e0: i32, a: v128, b: v128): void {
  v128.store(z + <usize>e0 * zPos, a);
  v128.store(z + <usize>(e0 + 1) * zPos, f32x4.add(a, b));
  v128.store(z + <usize>(e0 + 2) * zPos, f32x4.sub(a, b));
  v128.store(z + <usize>(e0 + 3) * zPos, f32x4.neg(b));
}

/**
 * dW `[3, 3, K, N]` of y = conv(x, W) for the geometry of `winogradConv`
 * (no placement: the 10th int is the chunk): per position e,
 * dU_e = Σ_tiles V_eᵀ Z_e over 4 (input) × 8 (output) channel tiles, then
 * dW = G^T dU G. `scratch`: 16·chunk·(K + N8) + 16·K·N8 floats.
 */
export function winogradFilterGrad(x: usize, dy: usize, dw: usize, g: usize, zeros: usize, scratch: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), K = geo(g, 3), outH = geo(g, 4), outW = geo(g, 5), N = geo(g, 6);
  const top = geo(g, 7), left = geo(g, 8), chunk = geo(g, 9);
  const th = (outH + 1) >> 1, tw = (outW + 1) >> 1, T = n * th * tw, tpi = th * tw;
  const blocks = (N + 7) >> 3, N8 = blocks << 3;
  const rowBytes = <usize>K << 2, vPos = <usize>chunk * rowBytes, zRow = <usize>N8 << 2, zPos = <usize>chunk * zRow;
  const uRow = zRow, uPos = <usize>K * uRow;
  const vBase = scratch, zBase = vBase + 16 * vPos, uBase = zBase + 16 * zPos;
  memory.fill(uBase, 0, 16 * uPos);
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const tiles = min(chunk, T - t0), tiles4 = (tiles + 3) & ~3;
    transformInputs(x, zeros, vBase, vPos, rowBytes, t0, tiles, tiles4, h, w, top, left, tpi, tw);
    transformOutputGrads(dy, zBase, zPos, zRow, t0, tiles, tiles4, outH, outW, N, tpi, tw);
    for (let e = 0; e < 16; e++) {
      const ve = vBase + <usize>e * vPos, ze = zBase + <usize>e * zPos, ue = uBase + <usize>e * uPos;
      for (let ci = 0; ci < K; ci += 4) {
        for (let cb = 0; cb < blocks; cb++) {
          const d = ue + <usize>ci * uRow + (<usize>cb << 5);
          let c00 = v128.load(d), c01 = v128.load(d, 16), c10 = v128.load(d + uRow), c11 = v128.load(d + uRow, 16);
          let c20 = v128.load(d + 2 * uRow), c21 = v128.load(d + 2 * uRow, 16), c30 = v128.load(d + 3 * uRow), c31 = v128.load(d + 3 * uRow, 16);
          let a = ve + (<usize>ci << 2), zb = ze + (<usize>cb << 5);
          for (let i = 0; i < tiles4; i++, a += rowBytes, zb += zRow) {
            const f0 = v128.load(zb), f1 = v128.load(zb, 16);
            let s = v128.load32_splat(a);
            c00 = madd(s, f0, c00); c01 = madd(s, f1, c01);
            s = v128.load32_splat(a, 4);
            c10 = madd(s, f0, c10); c11 = madd(s, f1, c11);
            s = v128.load32_splat(a, 8);
            c20 = madd(s, f0, c20); c21 = madd(s, f1, c21);
            s = v128.load32_splat(a, 12);
            c30 = madd(s, f0, c30); c31 = madd(s, f1, c31);
          }
          v128.store(d, c00); v128.store(d, c01, 16);
          v128.store(d + uRow, c10); v128.store(d + uRow, c11, 16);
          v128.store(d + 2 * uRow, c20); v128.store(d + 2 * uRow, c21, 16);
          v128.store(d + 3 * uRow, c30); v128.store(d + 3 * uRow, c31, 16);
        }
      }
    }
  }
  // dW = G^T dU G per (ci, 4 output channels): columns j first, then rows i.
  const half = f32x4.splat(0.5);
  const tap = <usize>(K * N) << 2;
  for (let ci = 0; ci < K; ci++) {
    for (let c = 0; c < N; c += 4) {
      const u = uBase + <usize>ci * uRow + (<usize>c << 2);
      const d = dw + (<usize>(ci * N + c) << 2), lanes = min(4, N - c);
      let w00 = zeroV(), w01 = zeroV(), w02 = zeroV(), w10 = zeroV(), w11 = zeroV(), w12 = zeroV();
      let w20 = zeroV(), w21 = zeroV(), w22 = zeroV(), w30 = zeroV(), w31 = zeroV(), w32 = zeroV();
      for (let i = 0; i < 4; i++) {
        const r = u + <usize>(i * 4) * uPos;
        const u0 = v128.load(r), u1 = v128.load(r + uPos), u2 = v128.load(r + 2 * uPos), u3 = v128.load(r + 3 * uPos);
        const p = f32x4.mul(f32x4.add(u1, u2), half), m = f32x4.mul(f32x4.sub(u1, u2), half);
        const a0 = f32x4.add(u0, p), a2 = f32x4.add(p, u3);
        if (i == 0) { w00 = a0; w01 = m; w02 = a2; } else if (i == 1) { w10 = a0; w11 = m; w12 = a2; } else if (i == 2) { w20 = a0; w21 = m; w22 = a2; } else { w30 = a0; w31 = m; w32 = a2; }
      }
      gtColumn(d, tap, 0, w00, w10, w20, w30, half, lanes);
      gtColumn(d, tap, 1, w01, w11, w21, w31, half, lanes);
      gtColumn(d, tap, 2, w02, w12, w22, w32, half, lanes);
    }
  }
}

@inline function zeroV(): v128 { return f32x4.splat(0); }

/** Column b of G^T (·): taps (0, b), (1, b), (2, b) from the 4 rows' values. */
@inline function gtColumn(d: usize, tap: usize, b: i32, r0: v128, r1: v128, r2: v128, r3: v128, half: v128, lanes: i32): void {
  const p = f32x4.mul(f32x4.add(r1, r2), half), m = f32x4.mul(f32x4.sub(r1, r2), half);
  storeLanes(d + <usize>b * tap, f32x4.add(r0, p), lanes);
  storeLanes(d + <usize>(3 + b) * tap, m, lanes);
  storeLanes(d + <usize>(6 + b) * tap, f32x4.add(p, r3), lanes);
}

