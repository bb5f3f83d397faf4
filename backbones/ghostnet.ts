/**
 * GhostNet (Han et al., "GhostNet: More Features from Cheap Operations",
 * arXiv 1911.11907), structure and parameter names as the official PyTorch code
 * (huawei-noah/Efficient-AI-Backbones `ghostnet_pytorch/ghostnet.py`, same as
 * timm's `ghostnet_*`), with a width multiplier.
 */
import { tf } from '../engine/tf';
import { Act } from '../nn/activations';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Layer, Module } from '../nn/module';
import { globalAvgPool } from '../nn/pool';
import { Identity, Sequential } from '../nn/sequential';
import { makeDivisible, SqueezeExcite } from '../nn/squeeze_excite';
import { Backbone, BackboneOptions } from './backbone';

/**
 * Ghost module: a primary conv makes ⌈oup/ratio⌉ channels, a cheap depthwise
 * conv makes the rest from them; the concatenation is sliced to `oup`.
 */
export class GhostModule extends Layer {
  readonly primaryConv: Sequential;
  readonly cheapOperation: Sequential;

  constructor(inp: number, readonly oup: number, o: { kernelSize?: number; ratio?: number; dwSize?: number; stride?: number; relu?: boolean } = {}) {
    super();
    const ratio = o.ratio ?? 2, k = o.kernelSize ?? 1, dw = o.dwSize ?? 3, relu = o.relu ?? true;
    const init = Math.ceil(oup / ratio);
    const extra = init * (ratio - 1);
    const act = (): Layer => (relu ? new Act('relu') : new Identity());
    this.primaryConv = this.add('primary_conv', new Sequential([
      new Conv2d({ inChannels: inp, outChannels: init, kernelSize: k, stride: o.stride ?? 1 }), new BatchNorm2d(init), act(),
    ]));
    this.cheapOperation = this.add('cheap_operation', new Sequential([
      new Conv2d({ inChannels: init, outChannels: extra, kernelSize: dw, groups: init }), new BatchNorm2d(extra), act(),
    ]));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const x1 = this.primaryConv.forward(x);
      const x2 = this.cheapOperation.forward(x1);
      const out = tf.concat([x1, x2], 3);
      return out.shape[3] === this.oup ? out : tf.slice(out, [0, 0, 0, 0], [-1, -1, -1, this.oup]);
    });
  }
}

/** Ghost bottleneck: ghost (expand) → [depthwise stride 2 + BN] → [SE] → ghost (project, no ReLU) + shortcut. */
export class GhostBottleneck extends Layer {
  private readonly ghost1: GhostModule;
  private readonly convDw?: Conv2d;
  private readonly bnDw?: BatchNorm2d;
  private readonly se?: SqueezeExcite;
  private readonly ghost2: GhostModule;
  private readonly shortcut: Sequential;

  constructor(inChs: number, midChs: number, outChs: number, dwKernel: number, stride: number, seRatio: number) {
    super();
    this.ghost1 = this.add('ghost1', new GhostModule(inChs, midChs, { relu: true }));
    if (stride > 1) {
      this.convDw = this.add('conv_dw', new Conv2d({ inChannels: midChs, outChannels: midChs, kernelSize: dwKernel, stride, padding: (dwKernel - 1) >> 1, groups: midChs }));
      this.bnDw = this.add('bn_dw', new BatchNorm2d(midChs));
    }
    if (seRatio > 0) this.se = this.add('se', new SqueezeExcite({ channels: midChs, seRatio, divisor: 4, gate: 'hardSigmoid' }));
    this.ghost2 = this.add('ghost2', new GhostModule(midChs, outChs, { relu: false }));
    this.shortcut = this.add('shortcut', inChs === outChs && stride === 1 ? new Sequential([]) : new Sequential([
      new Conv2d({ inChannels: inChs, outChannels: inChs, kernelSize: dwKernel, stride, padding: (dwKernel - 1) >> 1, groups: inChs }),
      new BatchNorm2d(inChs),
      new Conv2d({ inChannels: inChs, outChannels: outChs, kernelSize: 1 }),
      new BatchNorm2d(outChs),
    ]));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.ghost1.forward(x);
      if (this.convDw && this.bnDw) h = this.bnDw.forward(this.convDw.forward(h));
      if (this.se) h = this.se.forward(h);
      h = this.ghost2.forward(h);
      return tf.add(h, this.shortcut.forward(x));
    });
  }
}

/** `ConvBnAct` of the official code: conv (no bias), `bn1`, `act1`. */
class ConvBnAct extends Layer {
  constructor(inChs: number, outChs: number, k: number) {
    super();
    this.add('conv', new Conv2d({ inChannels: inChs, outChannels: outChs, kernelSize: k }));
    this.add('bn1', new BatchNorm2d(outChs));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.relu((this.child('bn1') as BatchNorm2d).forward((this.child('conv') as Conv2d).forward(x))));
  }
}

/** [kernel, expansion, out, SE ratio, stride] per bottleneck, grouped as the official `cfgs` (one stage each). */
const CFGS: Array<Array<[number, number, number, number, number]>> = [
  [[3, 16, 16, 0, 1]],
  [[3, 48, 24, 0, 2]],
  [[3, 72, 24, 0, 1]],
  [[5, 72, 40, 0.25, 2]],
  [[5, 120, 40, 0.25, 1]],
  [[3, 240, 80, 0, 2]],
  [[3, 200, 80, 0, 1], [3, 184, 80, 0, 1], [3, 184, 80, 0, 1], [3, 480, 112, 0.25, 1], [3, 672, 112, 0.25, 1]],
  [[5, 672, 160, 0.25, 2]],
  [[5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1], [5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1]],
];

export interface GhostNetOptions extends BackboneOptions {
  /** Width multiplier (0.5, 1.0, 1.3 for the named models). */
  width?: number;
  numClasses?: number;
}

export class GhostNet extends Backbone {
  readonly classifierPrefixes = ['conv_head', 'classifier'];
  private readonly convStem: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly convHead?: Conv2d;
  private readonly classifier?: Linear;

  constructor(o: GhostNetOptions = {}) {
    super();
    const width = o.width ?? 1.0;
    let inCh = makeDivisible(16 * width, 4);
    this.convStem = this.add('conv_stem', new Conv2d({ inChannels: 3, outChannels: inCh, kernelSize: 3, stride: 2, padding: 1 }));
    this.bn1 = this.add('bn1', new BatchNorm2d(inCh));
    const blocks = this.add('blocks', new Sequential([]));
    let stride = 2, exp = 0;
    CFGS.forEach((cfg, i) => {
      const layers = cfg.map(([k, e, c, se, s]) => {
        const out = makeDivisible(c * width, 4);
        const block = new GhostBottleneck(inCh, makeDivisible(e * width, 4), out, k, s, se);
        inCh = out;
        stride *= s;
        exp = e;
        return block;
      });
      const stage = blocks.add(String(i), new Sequential(layers));
      this.stageList.push({ name: `blocks.${i}`, module: stage, stride, channels: inCh });
    });
    const headIn = makeDivisible(exp * width, 4);
    const last = blocks.add(String(CFGS.length), new Sequential([new ConvBnAct(inCh, headIn, 1)]));
    this.stageList.push({ name: `blocks.${CFGS.length}`, module: last, stride, channels: headIn });
    if (o.withClassifier ?? true) {
      this.convHead = this.add('conv_head', new Conv2d({ inChannels: headIn, outChannels: 1280, kernelSize: 1, bias: true }));
      this.classifier = this.add('classifier', new Linear(1280, o.numClasses ?? 1000));
    }
    this.finish(o);
  }

  protected stemModules(): Module[] {
    return [this.convStem, this.bn1];
  }

  protected stem(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.bn1.forwardRelu(this.convStem.forward(x)));
  }

  protected classify(x: tf.Tensor4D): tf.Tensor2D {
    if (!this.convHead || !this.classifier) throw new Error('GhostNet was built without the classifier');
    return tf.tidy(() => {
      const h = tf.relu(this.convHead!.forward(globalAvgPool(x)));
      return this.classifier!.forward(tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D);
    });
  }
}

export const ghostnetModels = {
  ghostnet_050: (o: GhostNetOptions = {}) => new GhostNet({ ...o, width: 0.5 }),
  ghostnet_100: (o: GhostNetOptions = {}) => new GhostNet({ ...o, width: 1.0 }),
  ghostnet_130: (o: GhostNetOptions = {}) => new GhostNet({ ...o, width: 1.3 }),
};
