// Dense NHWC convolutions as register-tiled GEMMs on the tfjs-wasm heap.
//
// Forward: output pixels × output channels, reduced over (tap, input
// channel). A tile is 4 pixels × 8 channels, eight accumulators; each step
// broadcasts one input value per pixel and loads 8 filter values, 8
// multiply-adds for 6 loads. The tile's inputs are gathered once through
// per-pixel row pointers (zeros in the padding) into a `[K, 4]` strip that
// every 8-channel block then reads: the im2col of 4 pixels, never of the map.
//
// Filter gradient: dW[tap, ci, co] = Σ_p x[p under tap, ci] · dY[p, co], a
// 4 (ci) × 8 (co) tile reduced over the output pixels, taken in chunks of
// about 64 so the chunk's dY and x rows stay in L1 across all tiles.
//
// Built twice: with relaxed SIMD the multiply-add is `f32x4.relaxed_madd`,
// which the engine compiles to a fused multiply-add where the CPU has one
// (1.6× the throughput of mul + add measured on AVX-512 hardware); without
// it, mul then add.
//
// Grouped convs (G groups of cin/G inputs → cout/G outputs, the filter
// `[kh, kw, cin/G, cout]`) run group by group inside the same loops: exact
// MACs, where tfjs has no grouped conv at all.
//
// Geometry: `g` points at i32s — n, h, w, cin, outH, outW, cout, kh, kw,
// sh, sw, dh, dw, top, left (a negative pad starts the window inside the
// map), groups, and for the forward kernel six more that place output pixel
// (b, oy, ox) in a `[n, H, W, cout]` map at row y0 + oy·ys, column
// x0 + ox·xs: H, W, y0, x0, ys, xs (an ordinary conv: outH, outW, 0, 0, 1, 1;
// one stride phase of an input gradient writes every s-th pixel).

import { f32At, geo, rowAt } from './heap';
import { madd } from './madd';


/**
 * The filter `[K, cout]` (K = kh·kw·cin/G, HWIO order) as panels of 8 output
 * channels, `[G, ceil(cout / G / 8), K, 8]`, zero past each group's
 * outputs: the forward kernel reads one panel front to back.
 */
export function convPackFilter(w: usize, out: usize, K: i32, cout: i32, groups: i32): void {
  const gout = cout / groups, blocks = (gout + 7) >> 3;
  let d = out;
  for (let cg = 0; cg < groups * blocks; cg++) {
    const grp = cg / blocks, cb = cg - grp * blocks;
    const c0 = grp * gout + (cb << 3), lanes = min(8, gout - (cb << 3));
    for (let k = 0; k < K; k++, d += 32) {
      const s = f32At(w, k * cout + c0);
      if (lanes == 8) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      } else {
        for (let l = 0; l < 8; l++) store<f32>(d + (<usize>l << 2), l < lanes ? load<f32>(s + (<usize>l << 2)) : 0);
      }
    }
  }
}

/** 4 rows of 4 floats at s, s + row, … written as 4 columns at d, d + step, …. */
@inline function transpose4(d: usize, s: usize, row: usize, step: usize): void {
  const v0 = v128.load(s), v1 = v128.load(s + row), v2 = v128.load(s + 2 * row), v3 = v128.load(s + 3 * row);
  const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(d, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(d + step, i32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * step, i32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * step, i32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

/**
 * One stride phase of a conv input gradient as forward-conv panels (see
 * `convPackFilter`): the taps (a, b) < (ty, tx) of filter offset
 * (ry + sh·(ty − 1 − a), rx + sw·(tx − 1 − b)), flipped and with in/out
 * channels swapped, so K = ty·tx·cout/G and each group's panels run over
 * its cin/G inputs. `g`: kw, cin/G, cout, ry, rx, ty, tx, sh, sw, G.
 */
export function convPackPhase(w: usize, out: usize, g: usize): void {
  const kw = geo(g, 0), gin = geo(g, 1), cout = geo(g, 2), ry = geo(g, 3), rx = geo(g, 4);
  const ty = geo(g, 5), tx = geo(g, 6), sh = geo(g, 7), sw = geo(g, 8), groups = geo(g, 9);
  const gout = cout / groups, blocks = (gin + 7) >> 3, row = <usize>cout << 2;
  let d = out;
  for (let cg = 0; cg < groups * blocks; cg++) {
    const grp = cg / blocks, cb = cg - grp * blocks;
    const i0 = cb << 3, lanes = min(8, gin - i0), o0 = grp * gout;
    for (let a = 0; a < ty; a++) {
      for (let b = 0; b < tx; b++) {
        const tap = f32At(w, ((ry + sh * (ty - 1 - a)) * kw + rx + sw * (tx - 1 - b)) * gin * cout);
        let o = 0;
        if (lanes == 8) {
          // 4 output channels at a time: two 4×4 blocks (inputs i0..i0+3, i0+4..i0+7) transposed in registers.
          for (; o + 4 <= gout; o += 4, d += 128) {
            const s = f32At(tap, i0 * cout + o0 + o);
            transpose4(d, s, row, 32);
            transpose4(d + 16, s + 4 * row, row, 32);
          }
        }
        for (; o < gout; o++, d += 32) {
          for (let l = 0; l < 8; l++) store<f32>(d + (<usize>l << 2), l < lanes ? load<f32>(f32At(tap, (i0 + l) * cout + o0 + o)) : 0);
        }
      }
    }
  }
}

/** Copies `rows` rows of `c` floats into rows of `c2` ≥ c floats, zero past c. */
export function padRows(src: usize, dst: usize, rows: i32, c: i32, c2: i32): void {
  // Element loops: rows are a few floats (the stem's 3 channels), where memory.copy is a call each.
  let s = src, d = dst;
  for (let r = 0; r < rows; r++) {
    let i = 0;
    for (; i + 4 <= c; i += 4, s += 16, d += 16) v128.store(d, v128.load(s));
    for (; i < c; i++, s += 4, d += 4) store<f32>(d, load<f32>(s));
    for (; i < c2; i++, d += 4) store<f32>(d, 0);
  }
}


/** Stores the first `lanes` of 8 floats (two vectors) at `d`. */
@inline function store8(d: usize, v0: v128, v1: v128, lanes: i32): void {
  if (lanes == 8) {
    v128.store(d, v0);
    v128.store(d, v1, 16);
    return;
  }
  for (let l = 0; l < lanes; l++) {
    const v = l < 4 ? v0 : v1;
    const q = l & 3;
    const f = q == 0 ? f32x4.extract_lane(v, 0) : q == 1 ? f32x4.extract_lane(v, 1) : q == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    store<f32>(d + (<usize>l << 2), f);
  }
}

/**
 * The input under every tap for a tile's 4 pixels, interleaved `[K, 4]`
 * (k = tap·cin + ci), so the GEMM loop reads one pointer; channels in 4×4
 * blocks transposed in registers.
 */
@inline function packTile(a0: usize, a1: usize, a2: usize, a3: usize, rowBytes: usize, pa: usize): usize {
  let o: usize = 0;
  for (; o + 16 <= rowBytes; o += 16, pa += 64) {
    const v0 = v128.load(a0 + o), v1 = v128.load(a1 + o), v2 = v128.load(a2 + o), v3 = v128.load(a3 + o);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    v128.store(pa, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
    v128.store(pa, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
    v128.store(pa, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
    v128.store(pa, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
  }
  for (; o < rowBytes; o += 4, pa += 16) {
    store<f32>(pa, load<f32>(a0 + o));
    store<f32>(pa, load<f32>(a1 + o), 4);
    store<f32>(pa, load<f32>(a2 + o), 8);
    store<f32>(pa, load<f32>(a3 + o), 12);
  }
  return pa;
}

/**
 * y = conv(x, filter) with the filter packed by `convPackFilter`; `zeros`
 * holds cin zero floats (the row a pixel reads in the padding), `tile`
 * K·4 floats of scratch.
 */
export function convForward(x: usize, b: usize, y: usize, g: usize, zeros: usize, tile: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), cin = geo(g, 3), outH = geo(g, 4), outW = geo(g, 5), cout = geo(g, 6);
  const kh = geo(g, 7), kw = geo(g, 8), sh = geo(g, 9), sw = geo(g, 10), dh = geo(g, 11), dw = geo(g, 12);
  const top = geo(g, 13), left = geo(g, 14), groups = geo(g, 15);
  const H = geo(g, 16), W = geo(g, 17), yo = geo(g, 18), xo = geo(g, 19), ys = geo(g, 20), xs = geo(g, 21);
  const gin = cin / groups, gout = cout / groups;
  const M = n * outH * outW, hw = outH * outW, K = kh * kw * gin, blocks = (gout + 7) >> 3;
  const rowBytes = <usize>cin << 2, stripBytes = <usize>gin << 2, panelBytes = <usize>K << 5;
  for (let p0 = 0; p0 < M; p0 += 4) {
    // The tile's 4 pixels (the last tile repeats pixel M − 1 and stores only its real rows).
    const q0 = p0, q1 = min(p0 + 1, M - 1), q2 = min(p0 + 2, M - 1), q3 = min(p0 + 3, M - 1);
    const b0 = q0 / hw, b1 = q1 / hw, b2 = q2 / hw, b3 = q3 / hw;
    const r0 = q0 - b0 * hw, r1 = q1 - b1 * hw, r2 = q2 - b2 * hw, r3 = q3 - b3 * hw;
    const oy0 = r0 / outW, oy1 = r1 / outW, oy2 = r2 / outW, oy3 = r3 / outW;
    const y0 = oy0 * sh - top, y1 = oy1 * sh - top, y2 = oy2 * sh - top, y3 = oy3 * sh - top;
    const x0 = (r0 - oy0 * outW) * sw - left, x1 = (r1 - oy1 * outW) * sw - left;
    const x2 = (r2 - oy2 * outW) * sw - left, x3 = (r3 - oy3 * outW) * sw - left;
    const base0 = b0 * h, base1 = b1 * h, base2 = b2 * h, base3 = b3 * h;
    const rows = min(4, M - p0);
    const d0 = f32At(y, ((b0 * H + yo + oy0 * ys) * W + xo + (r0 - oy0 * outW) * xs) * cout);
    const d1 = f32At(y, ((b1 * H + yo + oy1 * ys) * W + xo + (r1 - oy1 * outW) * xs) * cout);
    const d2 = f32At(y, ((b2 * H + yo + oy2 * ys) * W + xo + (r2 - oy2 * outW) * xs) * cout);
    const d3 = f32At(y, ((b3 * H + yo + oy3 * ys) * W + xo + (r3 - oy3 * outW) * xs) * cout);
    for (let grp = 0; grp < groups; grp++) {
    // The zero row is cin floats, so it serves every group's offset too.
    const off = <usize>(grp * gin) << 2;
    if (blocks == 1) {
      // One 8-channel block per group (grouped convs): nothing would reuse a strip, so read the rows in place.
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = b + <usize>grp * panelBytes;
      for (let i = 0; i < kh; i++) {
        const ty = i * dh;
        for (let j = 0; j < kw; j++) {
          const tx = j * dw;
          const a0 = rowAt(x, zeros, base0, y0 + ty, x0 + tx, h, w, rowBytes) + off, a1 = rowAt(x, zeros, base1, y1 + ty, x1 + tx, h, w, rowBytes) + off;
          const a2 = rowAt(x, zeros, base2, y2 + ty, x2 + tx, h, w, rowBytes) + off, a3 = rowAt(x, zeros, base3, y3 + ty, x3 + tx, h, w, rowBytes) + off;
          for (let o: usize = 0; o < stripBytes; o += 4, pb += 32) {
            const f0 = v128.load(pb), f1 = v128.load(pb, 16);
            let s = v128.load32_splat(a0 + o);
            c00 = madd(s, f0, c00); c01 = madd(s, f1, c01);
            s = v128.load32_splat(a1 + o);
            c10 = madd(s, f0, c10); c11 = madd(s, f1, c11);
            s = v128.load32_splat(a2 + o);
            c20 = madd(s, f0, c20); c21 = madd(s, f1, c21);
            s = v128.load32_splat(a3 + o);
            c30 = madd(s, f0, c30); c31 = madd(s, f1, c31);
          }
        }
      }
      const lanes = min(8, gout), o = <usize>(grp * gout) << 2;
      store8(d0 + o, c00, c01, lanes);
      if (rows > 1) store8(d1 + o, c10, c11, lanes);
      if (rows > 2) store8(d2 + o, c20, c21, lanes);
      if (rows > 3) store8(d3 + o, c30, c31, lanes);
      continue;
    }
    let pa = tile;
    for (let i = 0; i < kh; i++) {
      const ty = i * dh;
      for (let j = 0; j < kw; j++) {
        const tx = j * dw;
        pa = packTile(
          rowAt(x, zeros, base0, y0 + ty, x0 + tx, h, w, rowBytes) + off, rowAt(x, zeros, base1, y1 + ty, x1 + tx, h, w, rowBytes) + off,
          rowAt(x, zeros, base2, y2 + ty, x2 + tx, h, w, rowBytes) + off, rowAt(x, zeros, base3, y3 + ty, x3 + tx, h, w, rowBytes) + off,
          stripBytes, pa);
      }
    }
    for (let cb = 0; cb < blocks; cb++) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = b + <usize>(grp * blocks + cb) * panelBytes;
      pa = tile;
      for (let k = 0; k < K; k++, pa += 16, pb += 32) {
        const f0 = v128.load(pb), f1 = v128.load(pb, 16);
        let s = v128.load32_splat(pa);
        c00 = madd(s, f0, c00); c01 = madd(s, f1, c01);
        s = v128.load32_splat(pa, 4);
        c10 = madd(s, f0, c10); c11 = madd(s, f1, c11);
        s = v128.load32_splat(pa, 8);
        c20 = madd(s, f0, c20); c21 = madd(s, f1, c21);
        s = v128.load32_splat(pa, 12);
        c30 = madd(s, f0, c30); c31 = madd(s, f1, c31);
      }
      const lanes = min(8, gout - (cb << 3)), o = <usize>(grp * gout + (cb << 3)) << 2;
      store8(d0 + o, c00, c01, lanes);
      if (rows > 1) store8(d1 + o, c10, c11, lanes);
      if (rows > 2) store8(d2 + o, c20, c21, lanes);
      if (rows > 3) store8(d3 + o, c30, c31, lanes);
    }
    }
  }
}

/**
 * dW `[kh, kw, cin/G, cout]` = Σ over output pixels of x under each tap
 * times dY. Needs cin/G a multiple of 4 and cout/G of 8 (the caller pads x
 * and dY of an ungrouped conv).
 */
export function convFilterGrad(x: usize, dy: usize, dwt: usize, g: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), cin = geo(g, 3), outH = geo(g, 4), outW = geo(g, 5), cout = geo(g, 6);
  const kh = geo(g, 7), kw = geo(g, 8), sh = geo(g, 9), sw = geo(g, 10), dh = geo(g, 11), dw = geo(g, 12);
  const top = geo(g, 13), left = geo(g, 14), groups = geo(g, 15);
  const gin = cin / groups, gout = cout / groups;
  const R = n * outH;
  memory.fill(dwt, 0, <usize>(kh * kw * gin * cout) << 2);
  const chunk = max(1, 64 / outW);
  const xStep = <usize>(sw * cin) << 2, dyStep = <usize>cout << 2, coutBytes = <usize>cout << 2;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // Output columns whose input column is inside the image for this tap: [oxa, oxb).
      let oxa = 0;
      while (oxa < outW && oxa * sw + j * dw - left < 0) oxa++;
      let oxb = outW;
      while (oxb > oxa && (oxb - 1) * sw + j * dw - left >= w) oxb--;
      if (oxa >= oxb) continue;
      const ix = oxa * sw + j * dw - left;
      const tap = f32At(dwt, (i * kw + j) * gin * cout);
      for (let r0 = 0; r0 < R; r0 += chunk) {
        const r1 = min(R, r0 + chunk);
        for (let cg = 0; cg < cin; cg += 4) {
          // Input channel cg = grp·gin + ci meets the group's outputs co0 … co0 + gout.
          const grp = cg / gin, ci = cg - grp * gin, co0 = grp * gout;
          for (let co = co0; co < co0 + gout; co += 8) {
            const d = tap + (<usize>(ci * cout + co) << 2);
            let c00 = v128.load(d), c01 = v128.load(d, 16);
            let c10 = v128.load(d + coutBytes), c11 = v128.load(d + coutBytes, 16);
            let c20 = v128.load(d + 2 * coutBytes), c21 = v128.load(d + 2 * coutBytes, 16);
            let c30 = v128.load(d + 3 * coutBytes), c31 = v128.load(d + 3 * coutBytes, 16);
            for (let r = r0; r < r1; r++) {
              const bi = r / outH, oy = r - bi * outH;
              const iy = oy * sh + i * dh - top;
              if (iy < 0 || iy >= h) continue;
              let xs = f32At(x, ((bi * h + iy) * w + ix) * cin + cg);
              let ds = f32At(dy, (r * outW + oxa) * cout + co);
              for (let ox = oxa; ox < oxb; ox++, xs += xStep, ds += dyStep) {
                const e0 = v128.load(ds), e1 = v128.load(ds, 16);
                let s = v128.load32_splat(xs);
                c00 = madd(s, e0, c00); c01 = madd(s, e1, c01);
                s = v128.load32_splat(xs, 4);
                c10 = madd(s, e0, c10); c11 = madd(s, e1, c11);
                s = v128.load32_splat(xs, 8);
                c20 = madd(s, e0, c20); c21 = madd(s, e1, c21);
                s = v128.load32_splat(xs, 12);
                c30 = madd(s, e0, c30); c31 = madd(s, e1, c31);
              }
            }
            v128.store(d, c00); v128.store(d, c01, 16);
            v128.store(d + coutBytes, c10); v128.store(d + coutBytes, c11, 16);
            v128.store(d + 2 * coutBytes, c20); v128.store(d + 2 * coutBytes, c21, 16);
            v128.store(d + 3 * coutBytes, c30); v128.store(d + 3 * coutBytes, c31, 16);
          }
        }
      }
    }
  }
}

/**
 * The filter gradient of an ungrouped conv with packed operands: output
 * pixels in chunks of `CP` (geometry[16]); each chunk's dY as 8-channel
 * panels `[cout/8, cp, 8]`, and for each tap and 4 input channels the input
 * under that tap as a `[cp, 4]` strip (zeros in the padding), so the
 * reduction over pixels reads two contiguous streams with the accumulators
 * held for the whole chunk. `scratch`: CP·(cout + 4) floats. Needs cin a
 * multiple of 4 and cout of 8.
 */
export function convFilterGradPacked(x: usize, dy: usize, dwt: usize, g: usize, scratch: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), cin = geo(g, 3), outH = geo(g, 4), outW = geo(g, 5), cout = geo(g, 6);
  const kh = geo(g, 7), kw = geo(g, 8), sh = geo(g, 9), sw = geo(g, 10), dh = geo(g, 11), dw = geo(g, 12);
  const top = geo(g, 13), left = geo(g, 14), CP = geo(g, 16);
  const P = n * outH * outW, hw = outH * outW, blocks = cout >> 3, coutBytes = <usize>cout << 2;
  const panels = scratch, strip = scratch + (<usize>(CP * cout) << 2);
  memory.fill(dwt, 0, <usize>(kh * kw * cin * cout) << 2);
  for (let p0 = 0; p0 < P; p0 += CP) {
    const cp = min(CP, P - p0);
    for (let p = 0; p < cp; p++) {
      const s = f32At(dy, (p0 + p) * cout);
      for (let cb = 0; cb < blocks; cb++) {
        const d = panels + (<usize>(cb * cp + p) << 5), sc = s + (<usize>cb << 5);
        v128.store(d, v128.load(sc));
        v128.store(d, v128.load(sc, 16), 16);
      }
    }
    const b0 = p0 / hw, r0 = p0 - b0 * hw, oy0 = r0 / outW, ox0 = r0 - oy0 * outW;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = f32At(dwt, (i * kw + j) * cin * cout);
        for (let ci = 0; ci < cin; ci += 4) {
          let b = b0, oy = oy0, ox = ox0, d = strip;
          for (let p = 0; p < cp; p++, d += 16) {
            const iy = oy * sh - top + i * dh, ix = ox * sw - left + j * dw;
            v128.store(d, iy >= 0 && iy < h && ix >= 0 && ix < w ? v128.load(f32At(x, ((b * h + iy) * w + ix) * cin + ci)) : f32x4.splat(0));
            if (++ox == outW) {
              ox = 0;
              if (++oy == outH) { oy = 0; b++; }
            }
          }
          for (let cb = 0; cb < blocks; cb++) {
            const t = tap + (<usize>(ci * cout + (cb << 3)) << 2);
            let c00 = v128.load(t), c01 = v128.load(t, 16);
            let c10 = v128.load(t + coutBytes), c11 = v128.load(t + coutBytes, 16);
            let c20 = v128.load(t + 2 * coutBytes), c21 = v128.load(t + 2 * coutBytes, 16);
            let c30 = v128.load(t + 3 * coutBytes), c31 = v128.load(t + 3 * coutBytes, 16);
            let pa = strip, pb = panels + (<usize>(cb * cp) << 5);
            for (let p = 0; p < cp; p++, pa += 16, pb += 32) {
              const e0 = v128.load(pb), e1 = v128.load(pb, 16);
              let s = v128.load32_splat(pa);
              c00 = madd(s, e0, c00); c01 = madd(s, e1, c01);
              s = v128.load32_splat(pa, 4);
              c10 = madd(s, e0, c10); c11 = madd(s, e1, c11);
              s = v128.load32_splat(pa, 8);
              c20 = madd(s, e0, c20); c21 = madd(s, e1, c21);
              s = v128.load32_splat(pa, 12);
              c30 = madd(s, e0, c30); c31 = madd(s, e1, c31);
            }
            v128.store(t, c00); v128.store(t, c01, 16);
            v128.store(t + coutBytes, c10); v128.store(t + coutBytes, c11, 16);
            v128.store(t + 2 * coutBytes, c20); v128.store(t + 2 * coutBytes, c21, 16);
            v128.store(t + 3 * coutBytes, c30); v128.store(t + 3 * coutBytes, c31, 16);
          }
        }
      }
    }
  }
}
