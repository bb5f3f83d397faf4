// Depthwise-conv gradients with a channel multiplier m (filter [kh, kw, C, m],
// output channel c·m + k reads input channel c), NHWC, as direct loops: the
// im2col + transpose + batched-matmul route cost ~2 ms per call where the
// arithmetic is a tenth of that, and the dilated-dY route wastes 3/4 of its
// MACs at stride 2. Vectors run along channels when m = 1 and along the
// multiplier otherwise. Geometry: `g` points at 13 i32 — n, h, w, c, m, kh,
// kw, sh, sw, top, left, outH, outW (dilation 1, as tfjs's
// depthwise gradients).

import { f32At, geo } from './heap';

/**
 * The loop both gradients share: every output pixel, every tap inside the
 * input. `inputGrad` false: dW[i, j, c, k] += x[b, y, x, c] · dY[b, oy, ox, c·m + k]
 * (a = x, b = dY, out = dW); true: dX[b, y, x, c] += Σ_k dY[b, oy, ox, c·m + k] · W[i, j, c, k]
 * (a = dY, b = W, out = dX); y = oy·sh + i − top, x = ox·sw + j − left.
 * `out` is zeroed first.
 */
function depthwiseGrad(inputGrad: bool, a: usize, b: usize, out: usize, g: usize): void {
  const n = geo(g, 0), h = geo(g, 1), w = geo(g, 2), c = geo(g, 3), m = geo(g, 4), kh = geo(g, 5), kw = geo(g, 6);
  const sh = geo(g, 7), sw = geo(g, 8), top = geo(g, 9), left = geo(g, 10), outH = geo(g, 11), outW = geo(g, 12);
  const cm = c * m;
  memory.fill(out, 0, <usize>(inputGrad ? n * h * w * c : kh * kw * cm) << 2);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const dyPix = f32At(inputGrad ? a : b, ((bi * outH + oy) * outW + ox) * cm);
        for (let i = 0; i < kh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * sw + j - left;
            if (xx < 0 || xx >= w) continue;
            const pix = ((bi * h + y) * w + xx) * c, tap = (i * kw + j) * cm;
            if (inputGrad) inputGradTap(f32At(out, pix), dyPix, f32At(b, tap), c, m);
            else filterGradTap(f32At(out, tap), f32At(a, pix), dyPix, c, m);
          }
        }
      }
    }
  }
}

/** One tap of the filter gradient: dW[tap] += x ⊗ dY per channel. */
@inline function filterGradTap(dwTap: usize, xPix: usize, dyPix: usize, c: i32, m: i32): void {
  if (m == 1) accumulateProducts(dwTap, xPix, dyPix, c);
  else for (let ch = 0; ch < c; ch++) accumulateScaled(f32At(dwTap, ch * m), load<f32>(f32At(xPix, ch)), f32At(dyPix, ch * m), m);
}

/** One tap of the input gradient: dX[pixel] += Σ_k dY·W per channel. */
@inline function inputGradTap(dxPix: usize, dyPix: usize, wTap: usize, c: i32, m: i32): void {
  if (m == 1) accumulateProducts(dxPix, dyPix, wTap, c);
  else for (let ch = 0; ch < c; ch++) store<f32>(f32At(dxPix, ch), load<f32>(f32At(dxPix, ch)) + dot(f32At(dyPix, ch * m), f32At(wTap, ch * m), m));
}

/** dW (zeroed here) of a depthwise conv: x, dY → dW `[kh, kw, C, m]`. */
export function depthwiseFilterGrad(x: usize, dy: usize, dw: usize, g: usize): void {
  depthwiseGrad(false, x, dy, dw, g);
}

/** dX (zeroed here) of a depthwise conv: dY, W → dX `[n, h, w, C]`. */
export function depthwiseInputGrad(dy: usize, filter: usize, dx: usize, g: usize): void {
  depthwiseGrad(true, dy, filter, dx, g);
}

/** acc[0..len) += a[0..len) ⊙ b[0..len). */
@inline function accumulateProducts(acc: usize, a: usize, b: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    v128.store(f32At(acc, k), f32x4.add(v128.load(f32At(acc, k)), f32x4.mul(v128.load(f32At(a, k)), v128.load(f32At(b, k)))));
  }
  for (; k < len; k++) store<f32>(f32At(acc, k), load<f32>(f32At(acc, k)) + load<f32>(f32At(a, k)) * load<f32>(f32At(b, k)));
}

/** acc[0..len) += s · b[0..len). */
@inline function accumulateScaled(acc: usize, s: f32, b: usize, len: i32): void {
  const sv = f32x4.splat(s);
  let k = 0;
  for (; k + 4 <= len; k += 4) v128.store(f32At(acc, k), f32x4.add(v128.load(f32At(acc, k)), f32x4.mul(sv, v128.load(f32At(b, k)))));
  for (; k < len; k++) store<f32>(f32At(acc, k), load<f32>(f32At(acc, k)) + s * load<f32>(f32At(b, k)));
}

/** Σ a[0..len) ⊙ b[0..len). */
@inline function dot(a: usize, b: usize, len: i32): f32 {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(f32At(a, k)), v128.load(f32At(b, k))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; k < len; k++) s += load<f32>(f32At(a, k)) * load<f32>(f32At(b, k));
  return s;
}

