/**
 * The CSP layer of YOLOX's PAFPN, as mmdetection's `CSPLayer` and
 * `DarknetBottleneck` (Wang et al., CSPNet): two 1×1 ConvModules split the
 * input (`main_conv`, `short_conv`, half the output channels each), the main
 * part runs through `num_blocks` bottlenecks (1×1 then 3×3 ConvModule, residual
 * only when asked and the channels match), and `final_conv` (1×1) mixes the
 * concatenation.
 */
import { tf } from '../engine/tf';
import { ConvModule } from '../nn/conv_module';
import { Layer, Module } from '../nn/module';

class DarknetBottleneck extends Layer {
  private readonly conv1: ConvModule;
  private readonly conv2: ConvModule;

  constructor(inChannels: number, outChannels: number, expansion: number, private readonly addIdentity: boolean) {
    super();
    const hidden = Math.floor(outChannels * expansion);
    this.conv1 = this.add('conv1', new ConvModule(inChannels, hidden, 1));
    this.conv2 = this.add('conv2', new ConvModule(hidden, outChannels, 3));
    this.addIdentity = addIdentity && inChannels === outChannels;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const out = this.conv2.forward(this.conv1.forward(x));
      return this.addIdentity ? tf.add(out, x) : out;
    });
  }
}

export class CspLayer extends Layer {
  private readonly mainConv: ConvModule;
  private readonly shortConv: ConvModule;
  private readonly finalConv: ConvModule;
  private readonly blocks: DarknetBottleneck[] = [];

  constructor(inChannels: number, outChannels: number, numBlocks: number, addIdentity: boolean, expandRatio = 0.5) {
    super();
    const mid = Math.floor(outChannels * expandRatio);
    this.mainConv = this.add('main_conv', new ConvModule(inChannels, mid, 1));
    this.shortConv = this.add('short_conv', new ConvModule(inChannels, mid, 1));
    this.finalConv = this.add('final_conv', new ConvModule(2 * mid, outChannels, 1));
    const blocks = this.add('blocks', new Module());
    for (let i = 0; i < numBlocks; i++) this.blocks.push(blocks.add(String(i), new DarknetBottleneck(mid, mid, 1.0, addIdentity)));
  }

  /** `[N, H, W, in]` → `[N, H, W, out]`. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const short = this.shortConv.forward(x);
      const main = this.blocks.reduce((h, b) => b.forward(h), this.mainConv.forward(x));
      return this.finalConv.forward(tf.concat([main, short], 3));
    });
  }
}
