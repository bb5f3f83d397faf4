/**
 * The one place a config becomes constructor arguments (DESIGN.md). Channel
 * counts flow from the backbone's FeatureSpecs to the FPN to the head: changing
 * `backbone.name` is the only edit needed to swap backbones.
 */
import { createBackbone } from '../backbones/index';
import type { BackboneOptions } from '../backbones/backbone';
import { Fpn, FpnOptions } from '../necks/fpn';
import { RetinaHead } from '../heads/retinanet_head';
import { numAnchors, AnchorOptions } from '../ops/anchors';
import type { AssignOptions } from '../ops/assign';
import { RetinaNet, RetinaLossOptions, RetinaTestOptions } from './retinanet';

export interface ModelConfig {
  type: 'retinanet';
  numClasses: number;
  /**
   * The backbone by name and its options; `pretrained` is a weights file loaded
   * into it before training (`pretrainedKey`: the state_dict's key inside a
   * training checkpoint), see backbones/pretrained.ts.
   */
  backbone: { name: string; pretrained?: string; pretrainedKey?: string } & BackboneOptions;
  neck: FpnOptions;
  head: { featChannels?: number; stackedConvs?: number; priorProb?: number; gnGroups?: number };
  anchors: Omit<AnchorOptions, 'strides'>;
  assign: AssignOptions;
  loss: RetinaLossOptions;
  test: RetinaTestOptions;
}

export function buildDetector(c: ModelConfig): RetinaNet {
  if (c.type !== 'retinanet') throw new Error(`model.type "${c.type}" is not built; available: retinanet`);
  // Weights are loaded by the trainer (train/run.ts), not at every build: data-parallel workers build too.
  const { name, pretrained: _file, pretrainedKey: _key, ...bopts } = c.backbone;
  const backbone = createBackbone(name, { withClassifier: false, ...bopts });
  const neck = new Fpn(backbone.outputs, c.neck);
  const strides = neck.outputs.map((o) => o.stride);
  const anchors: AnchorOptions = { ...c.anchors, strides };
  const head = new RetinaHead({
    inChannels: neck.outputs[0].channels, numClasses: c.numClasses, numAnchors: numAnchors(anchors),
    featChannels: c.head.featChannels, stackedConvs: c.head.stackedConvs, priorProb: c.head.priorProb, gnGroups: c.head.gnGroups,
  });
  return new RetinaNet({ backbone, neck, head, numClasses: c.numClasses, anchors, assign: c.assign, loss: c.loss, test: c.test });
}
