/**
 * The one place a config becomes constructor arguments. Channel counts and
 * strides flow from the backbone's FeatureSpecs to the neck to the head:
 * `backbone.name`, `neck.type` and `head.type` are each a one-line swap.
 */
import { createBackbone } from '../backbones/index';
import type { BackboneOptions, FeatureSpec } from '../backbones/backbone';
import { Fpn, FpnOptions } from '../necks/fpn';
import { Pafpn, PafpnOptions } from '../necks/pafpn';
import type { Neck } from '../necks/neck';
import { RetinaHead } from '../heads/retinanet_head';
import { YoloxHead } from '../heads/yolox_head';
import { numAnchors, AnchorOptions } from '../ops/anchors';
import type { AssignOptions } from '../ops/assign';
import type { SimOtaOptions } from '../ops/simota';
import { RetinaNet, RetinaLossOptions, RetinaTestOptions } from './retinanet';
import { Yolox, YoloxLossOptions, YoloxTestOptions } from './yolox';
import type { Detector } from './detector';

export const HEAD_TYPES = ['retinanet', 'yolox'] as const;
export const NECK_TYPES = ['fpn', 'pafpn'] as const;
export type HeadType = (typeof HEAD_TYPES)[number];
export type NeckType = (typeof NECK_TYPES)[number];

export interface ModelConfig {
  numClasses: number;
  /**
   * The backbone by name and its options; `pretrained` is a weights file loaded
   * into it before training (`pretrainedKey`: the state_dict's key inside a
   * training checkpoint), see backbones/pretrained.ts.
   */
  backbone: { name: string; pretrained?: string; pretrainedKey?: string } & BackboneOptions;
  /** `fpn` (RetinaNet's FPN; `numOuts` levels) or `pafpn` (YOLOX's; the backbone's levels). */
  neck: { type?: NeckType } & FpnOptions & PafpnOptions;
  /** `retinanet` or `yolox`; `gnGroups` > 0 puts GroupNorm in the head's stacked convs (mmdetection `norm_cfg=GN`; YOLOX's default is BN). */
  head: { type?: HeadType; featChannels?: number; stackedConvs?: number; priorProb?: number; gnGroups?: number };
  /** RetinaNet: anchors, max-IoU assignment, focal + box loss, test. */
  retinanet: { anchors: Omit<AnchorOptions, 'strides'>; assign: AssignOptions; loss: RetinaLossOptions; test: RetinaTestOptions };
  /** YOLOX: SimOTA assignment, loss weights (+ `l1LastEpochs`), test. */
  yolox: { simota: SimOtaOptions; loss: YoloxLossOptions & { l1LastEpochs?: number }; test: YoloxTestOptions };
}

const specs = (s: FeatureSpec[]): string => s.map((f) => `${f.name} /${f.stride} ${f.channels}ch`).join(', ');

function buildNeck(c: ModelConfig, inputs: FeatureSpec[]): Neck {
  const { type = 'fpn', ...o } = c.neck;
  if (type === 'fpn') return new Fpn(inputs, o);
  if (type === 'pafpn') return new Pafpn(inputs, { outChannels: o.outChannels, numCspBlocks: o.numCspBlocks });
  throw new Error(`model.neck.type "${String(type)}" is not built; choose one of: ${NECK_TYPES.join(', ')}`);
}

/** Heads share weights across levels only if the levels agree; both heads here read one channel count. */
function headInput(neck: Neck, backbone: FeatureSpec[], head: string): number {
  const ch = new Set(neck.outputs.map((o) => o.channels));
  if (ch.size !== 1) throw new Error(`model.head (${head}) needs levels with one channel count; the neck gives ${specs(neck.outputs)} (from backbone ${specs(backbone)})`);
  return neck.outputs[0].channels;
}

export function buildDetector(c: ModelConfig): Detector {
  // Weights are loaded by the trainer (train/run.ts), not at every build: data-parallel workers build too.
  const { name, pretrained: _file, pretrainedKey: _key, ...bopts } = c.backbone;
  const headType = c.head.type ?? 'retinanet';
  if (!(HEAD_TYPES as readonly string[]).includes(headType)) throw new Error(`model.head.type "${headType}" is not built; choose one of: ${HEAD_TYPES.join(', ')}`);
  const backbone = createBackbone(name, { withClassifier: false, ...bopts });
  const neck = buildNeck(c, backbone.outputs);
  const inChannels = headInput(neck, backbone.outputs, headType);
  if (headType === 'yolox') {
    const head = new YoloxHead({ inChannels, numClasses: c.numClasses, numLevels: neck.outputs.length, featChannels: c.head.featChannels, stackedConvs: c.head.stackedConvs, priorProb: c.head.priorProb, gnGroups: c.head.gnGroups });
    const { l1LastEpochs: _l1, ...loss } = c.yolox.loss;
    return new Yolox({ backbone, neck, head, numClasses: c.numClasses, simota: c.yolox.simota, loss, test: c.yolox.test });
  }
  const strides = neck.outputs.map((o) => o.stride);
  const r = c.retinanet;
  const anchors: AnchorOptions = { ...r.anchors, strides };
  const head = new RetinaHead({
    inChannels, numClasses: c.numClasses, numAnchors: numAnchors(anchors),
    featChannels: c.head.featChannels, stackedConvs: c.head.stackedConvs, priorProb: c.head.priorProb, gnGroups: c.head.gnGroups,
  });
  return new RetinaNet({ backbone, neck, head, numClasses: c.numClasses, anchors, assign: r.assign, loss: r.loss, test: r.test });
}

/** The detector for a config's model section with `numClasses` taken from the dataset (the label map rules). */
export function buildDetectorFor(model: ModelConfig, numClasses: number): Detector {
  return buildDetector({ ...model, numClasses });
}
