/** A 2-D convolution's output size, kernel, strides, dilations and padding, from tfjs's own rules. */
import { tf } from './tf';

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
