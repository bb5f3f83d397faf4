/**
 * RetinaNet's post-processing as ONNX operators, step for step what
 * `RetinaNet.predict` does: sigmoid scores, per level the best `nmsPre`
 * (anchor, class) pairs (TopK over the flattened `[H·W·A·K]` map, the order
 * `predict` sorts them in), delta decoding against the anchors (written as
 * constants for the exported input size), clipping to the input, then
 * `classAwareNms`. Boxes are clipped to the input's size; `predict` clips to
 * the resized image before padding, which differs only for boxes reaching
 * into the padding.
 */
import type { RetinaNet } from '../detectors/retinanet';
import { MAX_RATIO } from '../ops/coder';
import type { OnnxGraph } from './onnx_graph';
import { classAwareNms } from './class_aware_nms';
import { columns, flattenLevel } from './head_rows';

/** Anchors as (centre x, centre y, width, height) rows, computed as `decodeDeltas` computes them. */
function anchorCentres(anchors: Float32Array, from: number, count: number): Float32Array {
  const out = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const a = (from + i) * 4;
    const x1 = anchors[a], y1 = anchors[a + 1], x2 = anchors[a + 2], y2 = anchors[a + 3];
    out.set([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1], i * 4);
  }
  return out;
}

/** `decodeDeltas` on `[N, k, 4]` anchors (centre form) and deltas, clipped to `[0, W] × [0, H]`. */
function decode(g: OnnxGraph, anchors: string, deltas: string, width: number, height: number, base: string): string {
  const [px, py, pw, ph] = columns(g, anchors, `${base}_anchor`);
  const [dx, dy, dwRaw, dhRaw] = columns(g, deltas, `${base}_delta`);
  const lim = (d: string): string => g.op('Clip', [d, g.scalar(-MAX_RATIO), g.scalar(MAX_RATIO)], {}, `${base}_clamped`);
  const gw = g.op('Mul', [pw, g.op('Exp', [lim(dwRaw)])], {}, `${base}_w`), gh = g.op('Mul', [ph, g.op('Exp', [lim(dhRaw)])], {}, `${base}_h`);
  const gx = g.op('Add', [px, g.op('Mul', [pw, dx])], {}, `${base}_cx`), gy = g.op('Add', [py, g.op('Mul', [ph, dy])], {}, `${base}_cy`);
  const halfW = g.op('Mul', [gw, g.scalar(0.5)]), halfH = g.op('Mul', [gh, g.scalar(0.5)]);
  const clip = (v: string, hi: number): string => g.op('Clip', [v, g.scalar(0), g.scalar(hi)], {}, `${base}_clipped`);
  return g.op('Concat', [
    clip(g.op('Sub', [gx, halfW]), width), clip(g.op('Sub', [gy, halfH]), height),
    clip(g.op('Add', [gx, halfW]), width), clip(g.op('Add', [gy, halfH]), height),
  ], { axis: { i: -1 } }, `${base}_boxes`);
}

/** `maps.cls` / `maps.reg`: per-level NCHW value names; `sizes`: their `[h, w]`; `input`: `[H, W]`. */
export function retinanetPostprocess(g: OnnxGraph, det: RetinaNet, maps: Record<string, string[]>, sizes: Array<[number, number]>, input: [number, number]) {
  const K = det.numClasses;
  const o = det.testOptions();
  const anchors = det.anchorsFor(sizes);
  const boxes: string[] = [], scores: string[] = [], labels: string[] = [];
  let from = 0, total = 0;
  anchors.counts.forEach((count, l) => {
    const s = g.op('Sigmoid', [flattenLevel(g, maps.cls[l], null, `cls${l}`)], {}, `scores${l}`);
    const k = Math.min(o.nmsPre, count * K);
    const [top, index] = g.node('TopK', [s, g.int64s([k])], { axis: { i: 1 }, largest: { i: 1 }, sorted: { i: 1 } }, 2, `top${l}`);
    const anchor = g.op('Div', [index, g.int64s([K], [])], {}, `anchor${l}`);
    const deltas = g.op('GatherND', [flattenLevel(g, maps.reg[l], 4, `reg${l}`), g.op('Unsqueeze', [anchor, g.int64s([2])])], { batch_dims: { i: 1 } }, `deltas${l}`);
    const centres = g.op('Gather', [g.floats(anchorCentres(anchors.all, from, count), [count, 4], `anchors${l}`), anchor], { axis: { i: 0 } }, `anchor_rows${l}`);
    boxes.push(decode(g, centres, deltas, input[1], input[0], `level${l}`));
    scores.push(top);
    labels.push(g.op('Mod', [index, g.int64s([K], [])], {}, `label${l}`));
    from += count;
    total += k;
  });
  const cat = (xs: string[], base: string): string => (xs.length === 1 ? xs[0] : g.op('Concat', xs, { axis: { i: 1 } }, base));
  return classAwareNms(g, { boxes: cat(boxes, 'boxes'), scores: cat(scores, 'scores'), labels: cat(labels, 'labels'), count: total },
    { numClasses: K, scoreThr: o.scoreThr, iouThr: o.iouThr, maxPerImage: o.maxPerImage });
}
