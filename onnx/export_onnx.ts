/**
 * A detector → an ONNX model. The network part is the recorded forward pass
 * (trace_forward.ts) written operator by operator (layer_ops.ts,
 * kernel_ops.ts); post-processing is written from the detector's own
 * settings and priors (retinanet_postprocess.ts, yolox_postprocess.ts).
 *
 * The input size is fixed at export (the priors and the FPN's upsampling
 * sizes are constants); the batch size is free (`N`).
 */
import { tf } from '../engine/tf';
import type { Detector } from '../detectors/detector';
import { RetinaNet } from '../detectors/retinanet';
import { Yolox } from '../detectors/yolox';
import { OnnxGraph, Dim } from './onnx_graph';
import { traceForward, TraceRecord } from './trace_forward';
import { TracedValues, UnsupportedOpError } from './traced_values';
import { KERNEL_OPS } from './kernel_ops';
import { writeLayer } from './layer_ops';
import { retinanetPostprocess } from './retinanet_postprocess';
import { yoloxPostprocess } from './yolox_postprocess';
import { metadataProps, OnnxMeta } from './onnx_metadata';

/** The opsets the export's operators mean the same thing in (ReduceMax's `axes` became an input in 18). */
export const OPSETS = { min: 13, max: 17 } as const;

export interface OnnxExportOptions {
  /** `[H, W]` of the input. */
  inputSize: [number, number];
  /** Write decode + NMS (outputs `dets`, `labels`); false: the raw head maps. */
  postprocess: boolean;
  opset?: number;
  /** Classes and preprocessing for the metadata. */
  labels: { names: string[]; catIds: number[] };
  transform: OnnxMeta['transform'];
  names: { backbone: string; neck: string };
}

export interface OnnxOutput {
  name: string;
  dims: Dim[];
}

export interface OnnxExport {
  bytes: Uint8Array;
  outputs: OnnxOutput[];
  /** The ONNX operator types used, sorted. */
  opTypes: string[];
  meta: OnnxMeta;
}

function writeRecord(v: TracedValues, r: TraceRecord): void {
  const what = r.kind === 'layer' ? `layer ${r.layer.constructor.name}` : `tfjs kernel "${r.name}"`;
  try {
    if (r.kind === 'layer') return writeLayer(v, r);
    const handler = KERNEL_OPS[r.name];
    if (!handler) throw new UnsupportedOpError('it has no ONNX mapping');
    handler(v, r);
  } catch (e) {
    if (!(e instanceof UnsupportedOpError)) throw e;
    throw new UnsupportedOpError(`cannot export to ONNX: ${what} in module "${r.path || '(the detector itself)'}": ${e.message} (docs/onnx.md lists the supported operations)`);
  }
}

function testSettings(det: Detector): { scoreThr: number; iouThr: number; maxPerImage: number } {
  if (det instanceof RetinaNet || det instanceof Yolox) return det.testOptions();
  throw new UnsupportedOpError(`cannot export to ONNX: no post-processing graph for the ${det.kind} detector`);
}

/** Exports `det` (in eval mode, BatchNorms folded or not) to ONNX. */
export function exportOnnx(det: Detector, o: OnnxExportOptions): OnnxExport {
  const opset = o.opset ?? OPSETS.min;
  if (!Number.isInteger(opset) || opset < OPSETS.min || opset > OPSETS.max) throw new Error(`--opset ${opset}: choose ${OPSETS.min} to ${OPSETS.max}`);
  const [H, W] = o.inputSize;
  det.eval();
  const settings = testSettings(det);
  const x = tf.zeros([1, H, W, 3]) as tf.Tensor4D;
  const trace = (() => {
    try { return traceForward(det, x, (i) => det.forward(i)); } finally { x.dispose(); }
  })();

  const g = new OnnxGraph();
  g.reserve(o.postprocess ? ['dets', 'labels'] : Object.entries(trace.outputs).flatMap(([b, ls]) => ls.map((_, l) => `${b}_${l}`)));
  const v = new TracedValues(g, trace);
  v.set(trace.input, g.input('images', 'float', ['N', 3, H, W]), 'nchw');
  for (const r of trace.records) writeRecord(v, r);

  const maps: Record<string, string[]> = {};
  for (const [branch, levels] of Object.entries(trace.outputs)) maps[branch] = levels.map((t) => v.get(t, 'nchw'));
  const sizes = trace.outputs.cls.map((t): [number, number] => [t.shape[1], t.shape[2]]);
  const outputs: OnnxOutput[] = [];
  if (o.postprocess) {
    const pp = det instanceof RetinaNet ? retinanetPostprocess(g, det, maps, sizes, [H, W]) : yoloxPostprocess(g, det as Yolox, maps, sizes);
    outputs.push({ name: 'dets', dims: ['N', pp.maxDets, 5] }, { name: 'labels', dims: ['N', pp.maxDets] });
    g.output(pp.dets, 'dets', 'float', outputs[0].dims);
    g.output(pp.labels, 'labels', 'int64', outputs[1].dims);
  } else {
    for (const [branch, levels] of Object.entries(trace.outputs)) {
      levels.forEach((t, l) => {
        const out = { name: `${branch}_${l}`, dims: ['N', t.shape[3], t.shape[1], t.shape[2]] as Dim[] };
        g.output(maps[branch][l], out.name, 'float', out.dims);
        outputs.push(out);
      });
    }
  }

  const meta: OnnxMeta = {
    head: det.kind, backbone: o.names.backbone, neck: o.names.neck,
    classes: o.labels.names, categoryIds: o.labels.catIds, transform: o.transform,
    inputSize: [H, W], postprocess: o.postprocess, ...settings,
  };
  const bytes = g.encode({
    opset, producerVersion: '0.1.0', metadata: metadataProps(meta),
    docString: `${det.kind} (${o.names.backbone}, ${o.names.neck}) exported by ghostdet; outputs ${outputs.map((x) => x.name).join(', ')}`,
  });
  return { bytes, outputs, opTypes: [...g.opTypes].sort(), meta };
}

/**
 * The smallest fixed input every image the transform makes fits in: a
 * square of the padded long side (keep-ratio resizing puts the long side of
 * either orientation there), or the letterbox's own square.
 */
export function defaultInputSize(t: OnnxMeta['transform']): [number, number] {
  const div = t.sizeDivisor ?? 1;
  const side = t.resize.mode === 'square' ? t.resize.size : Math.max(...t.resize.scale);
  const s = Math.ceil(side / div) * div;
  return [s, s];
}
