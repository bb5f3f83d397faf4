/**
 * Layers written whole, from their own parameters, rather than from the
 * kernels their tfjs forward happens to run:
 * - `Conv2d` → one Conv with `group`. On tfjs a grouped conv (G-Ghost's cheap
 *   operations) runs as a block-diagonal dense conv, a depthwise conv and a
 *   sum, or per-group convs, whichever is fastest there; ONNX has the
 *   operator itself.
 * - `GroupNorm` → Reshape to `[N, G, −1]`, InstanceNormalization (unit scale),
 *   Reshape back, then the per-channel affine (and the ReLU the forward may
 *   fuse). ONNX's GroupNormalization arrived only in opset 18.
 */
import { Conv2d } from '../nn/conv2d';
import { GroupNorm } from '../nn/groupnorm';
import { permute, TracedValues, UnsupportedOpError } from './traced_values';
import type { LayerRecord } from './trace_forward';

function conv(v: TracedValues, r: LayerRecord, c: Conv2d): void {
  const w = c.weight.dataSync();
  const k = c.kernelSize;
  // HWIO → OIHW; depthwise [k, k, C, m] → [C·m, 1, k, k].
  const oihw = c.depthwise ? permute(w, c.weight.shape, [2, 3, 0, 1]).values : permute(w, c.weight.shape, [3, 2, 0, 1]).values;
  const g = v.graph;
  const inputs = [v.get(r.input, 'nchw'), g.floats(oihw, [c.outChannels, c.inChannels / c.groups, k, k], `${r.path}.weight`)];
  if (c.bias) inputs.push(g.floats(c.bias.dataSync(), [c.outChannels], `${r.path}.bias`));
  const p = c.padding;
  const y = g.op('Conv', inputs, {
    kernel_shape: { ints: [k, k] }, strides: { ints: [c.stride, c.stride] }, dilations: { ints: [c.dilation, c.dilation] },
    pads: { ints: [p, p, p, p] }, group: { i: c.groups },
  }, r.path);
  v.set(r.output, y, 'nchw');
}

function groupNorm(v: TracedValues, r: LayerRecord, n: GroupNorm): void {
  const g = v.graph;
  const G = n.numGroups, C = n.numChannels;
  const x = v.get(r.input, 'nchw');
  const grouped = g.op('Reshape', [x, g.int64s([0, G, -1])], {}, `${r.path}.grouped`);
  const normed = g.op('InstanceNormalization', [grouped, g.floats(new Float32Array(G).fill(1), [G]), g.floats(new Float32Array(G), [G])],
    { epsilon: { f: n.eps } }, `${r.path}.normed`);
  const back = g.op('Reshape', [normed, g.op('Shape', [x], {}, `${r.path}.shape`)], {}, `${r.path}.ungrouped`);
  const scaled = g.op('Mul', [back, g.floats(n.weight.dataSync(), [C, 1, 1], `${r.path}.weight`)], {}, `${r.path}.scaled`);
  let y = g.op('Add', [scaled, g.floats(n.bias.dataSync(), [C, 1, 1], `${r.path}.bias`)], {}, r.path);
  const act = r.args[0] ?? 'identity';
  if (act === 'relu') y = g.op('Relu', [y], {}, `${r.path}.relu`);
  else if (act !== 'identity') throw new UnsupportedOpError(`GroupNorm with activation "${String(act)}"`);
  v.set(r.output, y, 'nchw');
}

export function writeLayer(v: TracedValues, r: LayerRecord): void {
  if (r.layer instanceof Conv2d) conv(v, r, r.layer);
  else groupNorm(v, r, r.layer);
}
