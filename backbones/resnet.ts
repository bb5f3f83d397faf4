/**
 * ResNet (He et al., arXiv 1512.03385) with torchvision's layout and names
 * (`conv1`, `bn1`, `layer1.0.conv1`, …, `fc`); the stride sits on the 3×3 conv
 * of the bottleneck (torchvision's "v1.5"). The baseline of detection tables.
 */
import { tf } from '../engine/tf';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Layer, Module } from '../nn/module';
import { MaxPool2d } from '../nn/pool';
import { Sequential } from '../nn/sequential';
import { Backbone, BackboneOptions } from './backbone';

function downsample(inCh: number, outCh: number, stride: number): Sequential {
  return new Sequential([new Conv2d({ inChannels: inCh, outChannels: outCh, kernelSize: 1, stride }), new BatchNorm2d(outCh)]);
}

/** Two 3×3 convs (ResNet-18/34). */
class BasicBlock extends Layer {
  static readonly expansion = 1;
  private readonly convs: Array<[Conv2d, BatchNorm2d]>;
  private readonly down?: Sequential;

  constructor(inCh: number, planes: number, stride: number) {
    super();
    this.convs = [
      [this.add('conv1', new Conv2d({ inChannels: inCh, outChannels: planes, kernelSize: 3, stride })), this.add('bn1', new BatchNorm2d(planes))],
      [this.add('conv2', new Conv2d({ inChannels: planes, outChannels: planes, kernelSize: 3 })), this.add('bn2', new BatchNorm2d(planes))],
    ];
    if (stride !== 1 || inCh !== planes) this.down = this.add('downsample', downsample(inCh, planes, stride));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [[c1, b1], [c2, b2]] = this.convs;
      const h = b2.forward(c2.forward(tf.relu(b1.forward(c1.forward(x)))));
      return tf.relu(tf.add(h, this.down ? this.down.forward(x) : x)) as tf.Tensor4D;
    });
  }
}

/** 1×1 → 3×3 (stride) → 1×1 ×4 (ResNet-50/101). */
class Bottleneck extends Layer {
  static readonly expansion = 4;
  private readonly convs: Array<[Conv2d, BatchNorm2d]>;
  private readonly down?: Sequential;

  constructor(inCh: number, planes: number, stride: number) {
    super();
    const out = planes * 4;
    this.convs = [
      [this.add('conv1', new Conv2d({ inChannels: inCh, outChannels: planes, kernelSize: 1 })), this.add('bn1', new BatchNorm2d(planes))],
      [this.add('conv2', new Conv2d({ inChannels: planes, outChannels: planes, kernelSize: 3, stride })), this.add('bn2', new BatchNorm2d(planes))],
      [this.add('conv3', new Conv2d({ inChannels: planes, outChannels: out, kernelSize: 1 })), this.add('bn3', new BatchNorm2d(out))],
    ];
    if (stride !== 1 || inCh !== out) this.down = this.add('downsample', downsample(inCh, out, stride));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      this.convs.forEach(([c, b], i) => {
        h = b.forward(c.forward(h));
        if (i < 2) h = tf.relu(h);
      });
      return tf.relu(tf.add(h, this.down ? this.down.forward(x) : x)) as tf.Tensor4D;
    });
  }
}

export interface ResNetOptions extends BackboneOptions {
  numClasses?: number;
}

export class ResNet extends Backbone {
  readonly classifierPrefixes = ['fc'];
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly maxpool = new MaxPool2d(3, 2, 1);
  private readonly fc?: Linear;

  constructor(block: 'basic' | 'bottleneck', layers: number[], o: ResNetOptions = {}) {
    super();
    const Block = block === 'basic' ? BasicBlock : Bottleneck;
    this.conv1 = this.add('conv1', new Conv2d({ inChannels: 3, outChannels: 64, kernelSize: 7, stride: 2, padding: 3 }));
    this.bn1 = this.add('bn1', new BatchNorm2d(64));
    let inCh = 64, stride = 4;
    layers.forEach((n, i) => {
      const planes = 64 * 2 ** i, s = i === 0 ? 1 : 2;
      stride *= s;
      const blocks: Layer[] = [];
      for (let j = 0; j < n; j++) {
        blocks.push(new Block(inCh, planes, j === 0 ? s : 1));
        inCh = planes * Block.expansion;
      }
      this.stageList.push({ name: `layer${i + 1}`, module: this.add(`layer${i + 1}`, new Sequential(blocks)), stride, channels: inCh });
    });
    if (o.withClassifier ?? true) this.fc = this.add('fc', new Linear(inCh, o.numClasses ?? 1000));
    this.finish(o);
  }

  protected stemModules(): Module[] {
    return [this.conv1, this.bn1];
  }

  protected stem(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.maxpool.forward(this.bn1.forwardRelu(this.conv1.forward(x))));
  }

  protected classify(x: tf.Tensor4D): tf.Tensor2D {
    return this.poolLinear(this.fc, x);
  }
}

export const resnetModels = {
  resnet18: (o: ResNetOptions = {}) => new ResNet('basic', [2, 2, 2, 2], o),
  resnet50: (o: ResNetOptions = {}) => new ResNet('bottleneck', [3, 4, 6, 3], o),
};
