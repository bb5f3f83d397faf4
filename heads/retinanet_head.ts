/**
 * RetinaNet head (Lin et al., "Focal Loss for Dense Object Detection"):
 * convolutions only, shared across levels. Two branches of `stackedConvs`
 * 3×3 conv + ReLU, then `retina_cls` (A·K sigmoid logits, bias −log(99)) and
 * `retina_reg` (A·4 deltas); weights normal(0, 0.01). mmdetection names.
 * Optional GroupNorm after each stacked conv (mmdetection `norm_cfg=GN`: the
 * conv then has no bias; parameters `cls_convs.i.gn.*`).
 */
import { tf } from '../engine/tf';
import { Conv2d } from '../nn/conv2d';
import { Module } from '../nn/module';
import { GroupNorm } from '../nn/groupnorm';

export interface RetinaHeadOptions {
  inChannels: number;
  numClasses: number;
  numAnchors: number;
  featChannels?: number;
  stackedConvs?: number;
  /** Prior probability of the classifier at init. */
  priorProb?: number;
  /** GroupNorm groups after each stacked conv; 0 = no norm (the RetinaNet paper). */
  gnGroups?: number;
}

export type HeadOutput = {
  /** Per level `[N, H, W, A·K]` logits. */
  cls: tf.Tensor4D[];
  /** Per level `[N, H, W, A·4]` deltas. */
  reg: tf.Tensor4D[];
};

export class RetinaHead extends Module {
  private readonly clsConvs: Array<(x: tf.Tensor4D) => tf.Tensor4D> = [];
  private readonly regConvs: Array<(x: tf.Tensor4D) => tf.Tensor4D> = [];
  private readonly retinaCls: Conv2d;
  private readonly retinaReg: Conv2d;

  constructor(readonly o: RetinaHeadOptions) {
    super();
    const feat = o.featChannels ?? 256, n = o.stackedConvs ?? 4;
    const init = { normalStd: 0.01, bias: 0 };
    const groups = o.gnGroups ?? 0;
    const cls = this.add('cls_convs', new Module()), reg = this.add('reg_convs', new Module());
    const block = (parent: Module, i: number): ((x: tf.Tensor4D) => tf.Tensor4D) => {
      const m = parent.add(String(i), new Module());
      const conv = m.add('conv', new Conv2d({ inChannels: i === 0 ? o.inChannels : feat, outChannels: feat, kernelSize: 3, bias: !groups, init }));
      const gn = groups ? m.add('gn', new GroupNorm(groups, feat)) : undefined;
      return (x) => (gn ? gn.forward(conv.forward(x), 'relu') : tf.relu(conv.forward(x)));
    };
    for (let i = 0; i < n; i++) {
      this.clsConvs.push(block(cls, i));
      this.regConvs.push(block(reg, i));
    }
    const prior = o.priorProb ?? 0.01;
    const cin = n ? feat : o.inChannels;
    this.retinaCls = this.add('retina_cls', new Conv2d({ inChannels: cin, outChannels: o.numAnchors * o.numClasses, kernelSize: 3, bias: true, init: { normalStd: 0.01, bias: -Math.log((1 - prior) / prior) } }));
    this.retinaReg = this.add('retina_reg', new Conv2d({ inChannels: cin, outChannels: o.numAnchors * 4, kernelSize: 3, bias: true, init }));
  }

  forward(levels: tf.Tensor4D[]): HeadOutput {
    const cls: tf.Tensor4D[] = [], reg: tf.Tensor4D[] = [];
    for (const x of levels) {
      cls.push(tf.tidy(() => this.retinaCls.forward(this.clsConvs.reduce((h, f) => f(h), x))));
      reg.push(tf.tidy(() => this.retinaReg.forward(this.regConvs.reduce((h, f) => f(h), x))));
    }
    return { cls, reg };
  }
}
