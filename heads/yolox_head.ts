/**
 * YOLOX head (Ge et al., arXiv 2107.08430) as mmdetection's `YOLOXHead`:
 * anchor-free and decoupled, with separate weights per level. Each level has a
 * classification branch and a regression branch of `stackedConvs` 3×3
 * ConvModules (BN, or GN with `gnGroups`, + SiLU), then 1×1 `conv_cls` (K logits), `conv_reg`
 * (4 box offsets) and `conv_obj` (1 objectness logit) with biases. Parameter
 * names as mmdetection (`multi_level_cls_convs.L.i.conv.weight`,
 * `multi_level_conv_cls.L.weight`, …). mmdetection's head has no 1×1 stem of
 * its own: YOLOX's stem is the neck's `out_convs` (necks/pafpn.ts).
 */
import { tf } from '../engine/tf';
import { Conv2d } from '../nn/conv2d';
import { ConvModule } from '../nn/conv_module';
import { Module } from '../nn/module';

export interface YoloxHeadOptions {
  /** Channels of every input level (the neck's outputs all have the same). */
  inChannels: number;
  numClasses: number;
  numLevels: number;
  featChannels?: number;
  stackedConvs?: number;
  /** Prior probability for the `conv_cls` and `conv_obj` biases at init (mmdetection `bias_init_with_prob(0.01)`). */
  priorProb?: number;
  /** GroupNorm groups in the stacked convs instead of BatchNorm (mmdetection `norm_cfg=dict(type='GN')`); 0 = BN. */
  gnGroups?: number;
}

export type YoloxOutput = {
  /** Per level `[N, H, W, K]` class logits. */
  cls: tf.Tensor4D[];
  /** Per level `[N, H, W, 4]`: (dx, dy) in strides from the prior point, log(w, h) in strides. */
  reg: tf.Tensor4D[];
  /** Per level `[N, H, W, 1]` objectness logits. */
  obj: tf.Tensor4D[];
};

export class YoloxHead extends Module {
  private readonly clsConvs: ConvModule[][] = [];
  private readonly regConvs: ConvModule[][] = [];
  private readonly convCls: Conv2d[] = [];
  private readonly convReg: Conv2d[] = [];
  private readonly convObj: Conv2d[] = [];

  constructor(readonly o: YoloxHeadOptions) {
    super();
    const feat = o.featChannels ?? 256, n = o.stackedConvs ?? 2;
    const prior = o.priorProb ?? 0.01;
    const biasInit = -Math.log((1 - prior) / prior);
    const mods = ['multi_level_cls_convs', 'multi_level_reg_convs', 'multi_level_conv_cls', 'multi_level_conv_reg', 'multi_level_conv_obj'].map((name) => this.add(name, new Module()));
    for (let l = 0; l < o.numLevels; l++) {
      const branch = (parent: Module): ConvModule[] => {
        const seq = parent.add(String(l), new Module());
        return Array.from({ length: n }, (_, i) => seq.add(String(i), new ConvModule(i === 0 ? o.inChannels : feat, feat, 3, { gnGroups: o.gnGroups })));
      };
      this.clsConvs.push(branch(mods[0]));
      this.regConvs.push(branch(mods[1]));
      const cin = n ? feat : o.inChannels;
      const conv1x1 = (parent: Module, out: number, bias?: number): Conv2d => {
        const c = parent.add(String(l), new Conv2d({ inChannels: cin, outChannels: out, kernelSize: 1, bias: true }));
        if (bias !== undefined) tf.tidy(() => c.bias!.assign(tf.fill([out], bias)));
        return c;
      };
      this.convCls.push(conv1x1(mods[2], o.numClasses, biasInit));
      this.convReg.push(conv1x1(mods[3], 4));
      this.convObj.push(conv1x1(mods[4], 1, biasInit));
    }
  }

  /** One map per level, `[N, H, W, inChannels]` each → per-level cls, reg and obj maps. */
  forward(levels: tf.Tensor4D[]): YoloxOutput {
    if (levels.length !== this.o.numLevels) throw new Error(`YOLOX head: built for ${this.o.numLevels} levels, got ${levels.length}`);
    const cls: tf.Tensor4D[] = [], reg: tf.Tensor4D[] = [], obj: tf.Tensor4D[] = [];
    levels.forEach((x, l) => {
      const c = tf.tidy(() => this.clsConvs[l].reduce((h, m) => m.forward(h), x));
      const r = tf.tidy(() => this.regConvs[l].reduce((h, m) => m.forward(h), x));
      cls.push(this.convCls[l].forward(c));
      reg.push(this.convReg[l].forward(r));
      obj.push(this.convObj[l].forward(r));
      tf.dispose([c, r]);
    });
    return { cls, reg, obj };
  }
}
