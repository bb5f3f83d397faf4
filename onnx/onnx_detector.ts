/**
 * A ghostdet ONNX export run by ONNX Runtime (onnxruntime-node, CPU): the
 * file is checked first (an ONNX model, a ghostdet export, an `images` input
 * of the size its metadata states), then each image gets `ghostdet
 * predict`'s preprocessing, is padded to the model's input, and its
 * detections are mapped back to original pixels.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { readRegularFile } from '../util/read_file';
import type { RgbImage } from '../data/image';
import { boxToOriginal, transformImage, Transformed, TransformOptions } from '../data/transforms';
import type { Detection } from '../detectors/detector';
import { OnnxMeta, parseMetadata } from './onnx_metadata';

/** ONNX files are protobuf messages, which cannot exceed 2 GiB. */
const MAX_MODEL_BYTES = 2 ** 31;

export interface RawOutput {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** The model's declared dims of a value ('N' for a named dimension). */
function dimsOf(v: onnx.IValueInfoProto): Array<number | string> {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
}

/** Parses the protobuf and checks what `predict --onnx` relies on; returns the metadata. */
function checkModel(bytes: Buffer, file: string): OnnxMeta {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${file}: not an ONNX model (its bytes are not a protobuf ModelProto: ${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length || !model.opsetImport?.length) throw new Error(`${file}: not an ONNX model (no graph or no opset)`);
  const props: Record<string, string> = Object.create(null);
  for (const p of model.metadataProps ?? []) if (p.key) props[p.key] = p.value ?? '';
  const meta = parseMetadata(props, file);
  const initial = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initial.has(i.name));
  const [H, W] = meta.inputSize;
  const want = `images: float32 [N, 3, ${H}, ${W}]`;
  const got = inputs.map((i) => `${i.name}: ${i.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT ? 'float32' : `type ${i.type?.tensorType?.elemType}`} [${dimsOf(i).join(', ')}]`);
  const d = inputs.length === 1 ? dimsOf(inputs[0]) : [];
  if (inputs.length !== 1 || inputs[0].name !== 'images' || inputs[0].type?.tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT ||
      d.length !== 4 || d[1] !== 3 || d[2] !== H || d[3] !== W) {
    throw new Error(`${file}: its inputs (${got.join('; ') || 'none'}) do not match what its metadata and ghostdet expect (${want})`);
  }
  const outs = (graph.output ?? []).map((o) => o.name).join(',');
  const expected = meta.postprocess ? 'dets,labels' : undefined;
  if (expected && outs !== expected) throw new Error(`${file}: outputs are ${outs}, expected ${expected}`);
  return meta;
}

export class OnnxDetector {
  private constructor(readonly file: string, readonly meta: OnnxMeta, private readonly session: ort.InferenceSession) {}

  /** Reads, checks and loads `file`; `threads`: ONNX Runtime's intra-op threads. */
  static async load(file: string, threads?: number): Promise<OnnxDetector> {
    const bytes = readRegularFile(file, 'ONNX model', MAX_MODEL_BYTES);
    const meta = checkModel(bytes, file);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        ...(threads ? { intraOpNumThreads: threads } : {}), interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
    } catch (e) {
      throw new Error(`${file}: ONNX Runtime could not load it: ${(e as Error).message}`);
    }
    return new OnnxDetector(file, meta, session);
  }

  /** Runs `images` (`[n, 3, H, W]` NCHW floats) and returns every output. */
  async run(images: Float32Array, n: number): Promise<Record<string, RawOutput>> {
    const [H, W] = this.meta.inputSize;
    const out = await this.session.run({ images: new ort.Tensor('float32', images, [n, 3, H, W]) });
    const res: Record<string, RawOutput> = {};
    for (const [k, t] of Object.entries(out)) {
      res[k] = { data: t.data as Float32Array | BigInt64Array, dims: [...t.dims] };
      t.dispose();
    }
    return res;
  }

  /** `predict`'s preprocessing; an image it would make larger than the input is letterboxed to fit. */
  preprocess(img: RgbImage): Transformed {
    const [H, W] = this.meta.inputSize;
    const empty = { id: 0, boxes: new Float32Array(0), ignore: new Float32Array(0) };
    const t = transformImage(img, empty, this.meta.transform, false);
    if (t.padHeight <= H && t.padWidth <= W) return t;
    const fit: TransformOptions = { ...this.meta.transform, resize: { mode: 'square', size: Math.min(H, W) }, sizeDivisor: 1 };
    return transformImage(img, empty, fit, false);
  }

  /** Detections on one image, in its pixels (the model's own score threshold). */
  async detect(img: RgbImage): Promise<Detection[]> {
    if (!this.meta.postprocess) throw new Error(`${this.file} was exported with --no-postprocess: it gives raw head maps, not detections`);
    const [H, W] = this.meta.inputSize;
    const t = this.preprocess(img);
    const x = new Float32Array(3 * H * W);
    for (let y = 0; y < t.padHeight; y++) {
      for (let c = 0; c < 3; c++) {
        const row = (c * H + y) * W;
        for (let xx = 0; xx < t.padWidth; xx++) x[row + xx] = t.data[(y * t.padWidth + xx) * 3 + c];
      }
    }
    const out = await this.run(x, 1);
    const dets = out.dets.data as Float32Array, labels = out.labels.data as BigInt64Array;
    const found: Detection[] = [];
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] < 0n) continue;
      const b = dets.subarray(5 * i, 5 * i + 5);
      found.push({ box: boxToOriginal([b[0], b[1], b[2], b[3]], t.meta), score: b[4], label: Number(labels[i]) });
    }
    return found;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
