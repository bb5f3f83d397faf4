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
  backbone: { name: string } & BackboneOptions;
  neck: FpnOptions;
  head: { featChannels?: number; stackedConvs?: number; priorProb?: number; gnGroups?: number };
  anchors: Omit<AnchorOptions, 'strides'>;
  assign: AssignOptions;
  loss: RetinaLossOptions;
  test: RetinaTestOptions;
}

export function buildDetector(c: ModelConfig): RetinaNet {
  if (c.type !== 'retinanet') throw new Error(`model.type "${c.type}" is not built; available: retinanet`);
  const { name, ...bopts } = c.backbone;
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
