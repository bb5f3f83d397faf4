/** What `ghostdet export` writes beside the weights (model.json) and the page reads back. */
import type { ModelConfig } from '../detectors/build';
import type { TransformOptions } from '../data/transforms';
import type { LabelMap } from '../data/coco';
import type { Config } from '../configs/schema';

export interface ExportMeta {
  format: 'ghostdet-web-1';
  /** The whole resolved config the checkpoint was exported with (for reference; the page reads `model` and `transform`). */
  config: Config;
  /** The detector as built by `buildDetector` (numClasses from the label map). */
  model: ModelConfig;
  /** The same preprocessing as `ghostdet predict`. */
  transform: TransformOptions;
  labels: LabelMap;
  /** Weights file beside it: BatchNorms already folded into their convolutions. */
  weights: string;
  /** The checkpoint and config it was made from, for the page's caption. */
  source: { checkpoint: string; config: string; exportedAt: string };
  /** Score threshold the slider starts at. */
  scoreThr: number;
}
