/**
 * Reading the head's NCHW maps as the rows post-processing works on, in
 * the order tfjs's NHWC maps flatten to (location-major, then anchor, then
 * channel), and splitting box rows into their four columns.
 */
import type { OnnxGraph } from './onnx_graph';

/** `[N, C·k, H, W]` NCHW map → `[N, H·W·k, C]`-ordered rows (tfjs's NHWC flattening). */
export function flattenLevel(g: OnnxGraph, map: string, lastDim: number | null, base: string): string {
  const nhwc = g.op('Transpose', [map], { perm: { ints: [0, 2, 3, 1] } }, `${base}_nhwc`);
  return g.op('Reshape', [nhwc, g.int64s(lastDim == null ? [0, -1] : [0, -1, lastDim])], {}, `${base}_rows`);
}

/** The four `[.., 1]` columns of a `[.., 4]` tensor. */
export function columns(g: OnnxGraph, x: string, base: string): string[] {
  return g.node('Split', [x, g.int64s([1, 1, 1, 1])], { axis: { i: -1 } }, 4, base);
}
