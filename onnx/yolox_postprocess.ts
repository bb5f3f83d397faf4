/**
 * YOLOX's post-processing as ONNX operators, as `Yolox.predict` does it:
 * per prior the first best class (ArgMax) and the score
 * sigmoid(best logit) · sigmoid(objectness), boxes decoded from the prior
 * points (constants for the exported input size), then `classAwareNms`.
 */
import type { Yolox } from '../detectors/yolox';
import type { OnnxGraph } from './onnx_graph';
import { classAwareNms } from './class_aware_nms';
import { columns, flattenLevel } from './head_rows';

export function yoloxPostprocess(g: OnnxGraph, det: Yolox, maps: Record<string, string[]>, sizes: Array<[number, number]>) {
  const K = det.numClasses;
  const o = det.testOptions();
  const priors = det.priorsFor(sizes);
  const n = priors.all.length / 4;
  const cat = (branch: string, last: number | null): string => {
    const rows = maps[branch].map((m, l) => flattenLevel(g, m, last, `${branch}${l}`));
    return rows.length === 1 ? rows[0] : g.op('Concat', rows, { axis: { i: 1 } }, branch);
  };
  const cls = cat('cls', K), reg = cat('reg', 4), obj = cat('obj', null);
  const best = g.op('ReduceMax', [cls], { axes: { ints: [2] }, keepdims: { i: 0 } }, 'best_logit');
  const labels = g.op('ArgMax', [cls], { axis: { i: 2 }, keepdims: { i: 0 }, select_last_index: { i: 0 } }, 'labels');
  const scores = g.op('Mul', [g.op('Sigmoid', [best]), g.op('Sigmoid', [obj])], {}, 'scores');
  const [px, py, sw, sh] = columns(g, g.floats(priors.all, [1, n, 4], 'priors'), 'prior');
  const [rx, ry, rw, rh] = columns(g, reg, 'offset');
  const cx = g.op('Add', [g.op('Mul', [rx, sw]), px], {}, 'cx'), cy = g.op('Add', [g.op('Mul', [ry, sh]), py], {}, 'cy');
  const halfW = g.op('Mul', [g.op('Mul', [g.op('Exp', [rw]), sw]), g.scalar(0.5)], {}, 'half_w');
  const halfH = g.op('Mul', [g.op('Mul', [g.op('Exp', [rh]), sh]), g.scalar(0.5)], {}, 'half_h');
  const boxes = g.op('Concat', [g.op('Sub', [cx, halfW]), g.op('Sub', [cy, halfH]), g.op('Add', [cx, halfW]), g.op('Add', [cy, halfH])], { axis: { i: -1 } }, 'boxes');
  return classAwareNms(g, { boxes, scores, labels, count: n }, { numClasses: K, scoreThr: o.scoreThr, iouThr: o.iouThr, maxPerImage: o.maxPerImage });
}
