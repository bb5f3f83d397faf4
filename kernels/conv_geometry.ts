/** A 2-D convolution's output size, kernel, strides, dilations and padding, from tfjs's own rules. */
import { tf } from '../engine/tf';

export type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface Geometry {
  outH: number; outW: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number;
  top: number; left: number; bottom: number; right: number;
}

export function geometry(xShape: number[], filterShape: [number, number, number, number], strides: number | [number, number],
  dilations: number | [number, number] | undefined, pad: Pad, dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined, depthwise: boolean): Geometry {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape, strides,
    dilations ?? 1, pad, dimRoundingMode, depthwise, 'channelsLast');
  return {
    outH: info.outHeight, outW: info.outWidth, kh: info.filterHeight, kw: info.filterWidth,
    sh: info.strideHeight, sw: info.strideWidth, dh: info.dilationHeight, dw: info.dilationWidth,
    top: info.padInfo.top, left: info.padInfo.left, bottom: info.padInfo.bottom, right: info.padInfo.right,
  };
}

/**
 * The output rows of one stride phase of the input gradient, along one axis.
 * Input row t = q·s + r − pad receives dY[q − m]·w[r + s·m] for m < taps:
 * a stride-1 correlation of dY with the phase's taps of the filter. `q0` is
 * the first q whose row is inside the input, `count` how many there are.
 */
export interface Phase { r: number; taps: number; q0: number; count: number }

export function phases(size: number, k: number, s: number, pad: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const q0 = Math.max(0, Math.ceil((pad - r) / s));
    const count = Math.max(0, Math.floor((size - 1 + pad - r) / s) - q0 + 1);
    out.push({ r, taps: Math.max(0, Math.ceil((k - r) / s)), q0, count });
  }
  return out;
}

/** The geometry as 16 ints, as our conv GEMMs (simd/conv_gemm.ts) and the oneDNN addon take it: n, h, w, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, top, left, groups. */
export function geometryInts([n, h, w, cin]: number[], cout: number, g: Geometry, groups: number): number[] {
  return [n, h, w, cin, g.outH, g.outW, cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left, groups];
}
