/**
 * What an exported model says about itself in its `metadata_props`, so a
 * consumer needs nothing else: the classes, the preprocessing, the input
 * size and the post-processing settings. Each entry is a plain string (JSON
 * for lists), readable from Python as `{p.key: p.value for p in
 * model.metadata_props}`.
 */
import type { TransformOptions } from '../data/transforms';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms';

export const ONNX_FORMAT = 'ghostdet-onnx-1';

export interface OnnxMeta {
  head: string;
  backbone: string;
  neck: string;
  classes: string[];
  /** The dataset's category id of each class (COCO results use these). */
  categoryIds: number[];
  /** Resize, normalisation and size divisor, as `ghostdet predict` applies them. */
  transform: TransformOptions;
  /** `[H, W]` of the `images` input. */
  inputSize: [number, number];
  /** true: outputs `dets` and `labels`; false: the raw head maps. */
  postprocess: boolean;
  scoreThr: number;
  iouThr: number;
  maxPerImage: number;
}

export function metadataProps(m: OnnxMeta): Record<string, string> {
  return {
    ghostdet_format: ONNX_FORMAT,
    head: m.head, backbone: m.backbone, neck: m.neck,
    classes: JSON.stringify(m.classes),
    category_ids: JSON.stringify(m.categoryIds),
    input: 'images: float32 [N, 3, H, W], RGB, (pixel - mean) / std on the 0-255 scale, padded bottom/right with zeros',
    input_size: JSON.stringify(m.inputSize),
    mean: JSON.stringify(m.transform.mean ?? IMAGENET_MEAN),
    std: JSON.stringify(m.transform.std ?? IMAGENET_STD),
    resize: JSON.stringify(m.transform.resize),
    size_divisor: String(m.transform.sizeDivisor ?? 1),
    postprocess: m.postprocess ? 'dets,labels' : 'raw',
    score_threshold: String(m.scoreThr),
    iou_threshold: String(m.iouThr),
    max_per_image: String(m.maxPerImage),
  };
}

/** The metadata read back from `metadata_props`; throws naming the first entry that is missing or malformed. */
export function parseMetadata(props: Record<string, string>, file: string): OnnxMeta {
  if (props.ghostdet_format !== ONNX_FORMAT) {
    throw new Error(`${file}: not a ghostdet ONNX export (metadata "ghostdet_format" is ${JSON.stringify(props.ghostdet_format ?? null)}, expected "${ONNX_FORMAT}"); export it with "ghostdet export --format onnx"`);
  }
  const json = <T>(key: string, ok: (v: unknown) => boolean): T => {
    let v: unknown;
    try { v = JSON.parse(props[key] ?? ''); } catch { v = undefined; }
    if (!ok(v)) throw new Error(`${file}: metadata "${key}" is missing or malformed`);
    return v as T;
  };
  const num = (key: string): number => json<number>(key, (v) => typeof v === 'number' && Number.isFinite(v));
  const nums = (v: unknown, n?: number): boolean => Array.isArray(v) && (n == null || v.length === n) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const classes = json<string[]>('classes', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  const categoryIds = json<number[]>('category_ids', (v) => nums(v) && (v as number[]).length === classes.length);
  const resize = json<TransformOptions['resize']>('resize', (v) => typeof v === 'object' && v !== null && ['keepRatio', 'square'].includes((v as { mode?: string }).mode ?? ''));
  return {
    head: props.head ?? '', backbone: props.backbone ?? '', neck: props.neck ?? '',
    classes, categoryIds,
    transform: { resize, mean: json('mean', (v) => nums(v, 3)), std: json('std', (v) => nums(v, 3)), sizeDivisor: num('size_divisor') },
    inputSize: json('input_size', (v) => nums(v, 2)),
    postprocess: props.postprocess === 'dets,labels',
    scoreThr: num('score_threshold'), iouThr: num('iou_threshold'), maxPerImage: num('max_per_image'),
  };
}
