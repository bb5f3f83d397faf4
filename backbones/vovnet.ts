/**
 * VoVNet (Lee et al., "An Energy and GPU-Computation Efficient Backbone
 * Network for Real-Time Object Detection", arXiv 1904.09730) and VoVNetV2
 * (CenterMask, arXiv 1911.06667: identity residual and effective SE), with
 * timm's `vovnet.py` structure and parameter names so timm weights load by name.
 *
 * One-shot aggregation (OSA): the block's input and every layer's output are
 * concatenated once, then a 1×1 conv maps them to the block's width.
 */
import { tf } from '../engine/tf';
import { hardSigmoid } from '../nn/activations';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Layer, Module } from '../nn/module';
import { MaxPool2d } from '../nn/pool';
import { Sequential } from '../nn/sequential';
import { Backbone, BackboneOptions } from './backbone';

/** timm `ConvNormAct`: conv (no bias) → `bn` → ReLU, padding ⌊((s−1) + (k−1))/2⌋. */
class ConvNormAct extends Layer {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d;

  constructor(inCh: number, outCh: number, k = 1, stride = 1) {
    super();
    this.conv = this.add('conv', new Conv2d({ inChannels: inCh, outChannels: outCh, kernelSize: k, stride, padding: ((stride - 1) + (k - 1)) >> 1 }));
    this.bn = this.add('bn', new BatchNorm2d(outCh));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.bn.forwardRelu(this.conv.forward(x)));
  }
}

/** timm `SeparableConvNormAct`: depthwise `conv_dw` → pointwise `conv_pw` → `bn` → ReLU. */
class SeparableConvNormAct extends Layer {
  private readonly convDw: Conv2d;
  private readonly convPw: Conv2d;
  private readonly bn: BatchNorm2d;

  constructor(inCh: number, outCh: number, k = 3, stride = 1) {
    super();
    this.convDw = this.add('conv_dw', new Conv2d({ inChannels: inCh, outChannels: inCh, kernelSize: k, stride, padding: ((stride - 1) + (k - 1)) >> 1, groups: inCh }));
    this.convPw = this.add('conv_pw', new Conv2d({ inChannels: inCh, outChannels: outCh, kernelSize: 1 }));
    this.bn = this.add('bn', new BatchNorm2d(outCh));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.bn.forwardRelu(this.convPw.forward(this.convDw.forward(x))));
  }
}

/** Effective SE (timm `EffectiveSEModule`): GAP → 1×1 conv with bias (`fc`) → hard-sigmoid gate. */
export class EffectiveSE extends Layer {
  private readonly fc: Conv2d;

  constructor(channels: number) {
    super();
    this.fc = this.add('fc', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 1, bias: true }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.mul(x, hardSigmoid(this.fc.forward(tf.mean(x, [1, 2], true)))));
  }
}

interface OsaBlockOptions {
  inCh: number; midCh: number; outCh: number; layers: number;
  residual: boolean; depthwise: boolean; attn: boolean;
}

export class OsaBlock extends Layer {
  private readonly convReduction?: ConvNormAct;
  private readonly convMid: Sequential;
  private readonly convConcat: ConvNormAct;
  private readonly attn?: EffectiveSE;
  private readonly residual: boolean;

  constructor(o: OsaBlockOptions) {
    super();
    this.residual = o.residual;
    let next = o.inCh;
    if (o.depthwise && next !== o.midCh) {
      if (o.residual) throw new Error('OSA block: a depthwise block with channel reduction cannot be residual');
      this.convReduction = this.add('conv_reduction', new ConvNormAct(next, o.midCh, 1));
    }
    const mids: Layer[] = [];
    for (let i = 0; i < o.layers; i++) {
      mids.push(o.depthwise ? new SeparableConvNormAct(o.midCh, o.midCh) : new ConvNormAct(next, o.midCh, 3));
      next = o.midCh;
    }
    this.convMid = this.add('conv_mid', new Sequential(mids));
    this.convConcat = this.add('conv_concat', new ConvNormAct(o.inCh + o.layers * o.midCh, o.outCh, 1));
    if (o.attn) this.attn = this.add('attn', new EffectiveSE(o.outCh));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const outs: tf.Tensor4D[] = [x];
      let h = this.convReduction ? this.convReduction.forward(x) : x;
      for (const l of this.convMid.layers) {
        h = l.forward(h);
        outs.push(h);
      }
      h = this.convConcat.forward(tf.concat(outs, 3));
      if (this.attn) h = this.attn.forward(h);
      return this.residual ? tf.add(h, x) : h;
    });
  }
}

/** timm `OsaStage`: optional 3×3/2 ceil-mode max-pool (`pool`, no parameters), then `blocks`. */
class OsaStage extends Layer {
  private readonly pool?: MaxPool2d;
  private readonly blocks: Sequential;

  constructor(inCh: number, midCh: number, outCh: number, nBlocks: number, layers: number, downsample: boolean, cfg: VovCfg) {
    super();
    if (downsample) this.pool = this.add('pool', new MaxPool2d(3, 2, 0, true));
    const blocks: Layer[] = [];
    for (let i = 0; i < nBlocks; i++) {
      blocks.push(new OsaBlock({
        inCh: i === 0 ? inCh : outCh, midCh, outCh, layers,
        residual: cfg.residual && i > 0, depthwise: cfg.depthwise, attn: cfg.attn && i === nBlocks - 1,
      }));
    }
    this.blocks = this.add('blocks', new Sequential(blocks));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.blocks.forward(this.pool ? this.pool.forward(x) : x));
  }
}

export interface VovCfg {
  stemChs: [number, number, number];
  stageConvChs: number[];
  stageOutChs: number[];
  layerPerBlock: number;
  blockPerStage: number[];
  residual: boolean;
  depthwise: boolean;
  /** eSE attention on the last block of each stage. */
  attn: boolean;
}

const V39: Omit<VovCfg, 'residual' | 'attn'> = {
  stemChs: [64, 64, 128], stageConvChs: [128, 160, 192, 224], stageOutChs: [256, 512, 768, 1024], layerPerBlock: 5, blockPerStage: [1, 1, 2, 2], depthwise: false,
};
const V19: Omit<VovCfg, 'residual' | 'attn' | 'depthwise'> = {
  stemChs: [64, 64, 128], stageConvChs: [128, 160, 192, 224], stageOutChs: [256, 512, 768, 1024], layerPerBlock: 3, blockPerStage: [1, 1, 1, 1],
};
const SLIM = { stageConvChs: [64, 80, 96, 112], stageOutChs: [112, 256, 384, 512] };
const V2 = { residual: true, attn: true };

export const VOVNET_CFGS: Record<string, VovCfg> = {
  vovnet39a: { ...V39, residual: false, attn: false },
  vovnet57a: { ...V39, blockPerStage: [1, 1, 4, 3], residual: false, attn: false },
  ese_vovnet19b_slim_dw: { ...V19, ...SLIM, stemChs: [64, 64, 64], depthwise: true, ...V2 },
  ese_vovnet19b_dw: { ...V19, stemChs: [64, 64, 64], depthwise: true, ...V2 },
  ese_vovnet19b_slim: { ...V19, ...SLIM, depthwise: false, ...V2 },
  ese_vovnet19b: { ...V19, depthwise: false, ...V2 },
  ese_vovnet39b: { ...V39, ...V2 },
  ese_vovnet57b: { ...V39, blockPerStage: [1, 1, 4, 3], ...V2 },
  ese_vovnet99b: { ...V39, blockPerStage: [1, 3, 9, 3], ...V2 },
};

export interface VovNetOptions extends BackboneOptions {
  numClasses?: number;
}

export class VovNet extends Backbone {
  readonly classifierPrefixes = ['head'];
  private readonly stemSeq: Sequential;
  private readonly head?: Module;

  constructor(cfg: VovCfg, o: VovNetOptions = {}) {
    super();
    const [s0, s1, s2] = cfg.stemChs;
    const Conv = cfg.depthwise ? SeparableConvNormAct : ConvNormAct;
    // Stem stride 4: the first stage does not downsample.
    this.stemSeq = this.add('stem', new Sequential([new ConvNormAct(3, s0, 3, 2), new Conv(s0, s1, 3, 1), new Conv(s1, s2, 3, 2)]));
    const stages = this.add('stages', new Sequential([]));
    const inChs = [s2, ...cfg.stageOutChs.slice(0, -1)];
    let stride = 4;
    for (let i = 0; i < 4; i++) {
      if (i > 0) stride *= 2;
      const st = stages.add(String(i), new OsaStage(inChs[i], cfg.stageConvChs[i], cfg.stageOutChs[i], cfg.blockPerStage[i], cfg.layerPerBlock, i > 0, cfg));
      this.stageList.push({ name: `stages.${i}`, module: st, stride, channels: cfg.stageOutChs[i] });
    }
    if (o.withClassifier ?? true) {
      // timm `ClassifierHead`: global average pool → `fc`.
      this.head = this.add('head', new Module());
      this.head.add('fc', new Linear(cfg.stageOutChs[3], o.numClasses ?? 1000));
    }
    this.finish(o);
  }

  protected stemModules(): Module[] {
    return [this.stemSeq];
  }

  protected stem(x: tf.Tensor4D): tf.Tensor4D {
    return this.stemSeq.forward(x);
  }

  protected classify(x: tf.Tensor4D): tf.Tensor2D {
    return this.poolLinear(this.head?.child('fc') as Linear | undefined, x);
  }
}

export const vovnetModels: Record<string, (o?: VovNetOptions) => VovNet> = Object.fromEntries(
  Object.entries(VOVNET_CFGS).map(([name, cfg]) => [name, (o: VovNetOptions = {}) => new VovNet(cfg, o)]),
);
