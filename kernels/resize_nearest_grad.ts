/**
 * The gradient of nearest-neighbour resizing on the cpu backend. tfjs-cpu
 * 4.22's `ResizeNearestNeighborGrad` addresses dY with the input image's
 * batch stride, so every image after the first gets the wrong gradient (an
 * FPN's top-down path trained on cpu with batch > 1 got wrong gradients into
 * its coarser levels), and it ignores `halfPixelCenters`. Here dY is added
 * into the input pixel the forward read for it, with the forward's own index
 * rule (tfjs-cpu `ResizeNearestNeighbor`). wasm's kernel is right for the
 * default resize (what the necks use); with `halfPixelCenters` it disagrees
 * with wasm's own forward, which nothing here uses.
 */
import { tf } from '../engine/tf';
import { storage } from '../engine/kernel_storage';

interface ResizeAttrs { alignCorners: boolean; halfPixelCenters: boolean }

/** The input row (or column) the forward reads for output index `o`. */
function sourceIndex(o: number, inSize: number, outSize: number, a: ResizeAttrs): number {
  const corners = a.alignCorners && outSize > 1;
  const ratio = (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
  const frac = a.halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
  const i = Math.min(inSize - 1, a.alignCorners ? Math.round(frac) : Math.floor(frac));
  return a.halfPixelCenters ? Math.max(0, i) : i;
}

function resizeNearestGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as unknown as ResizeAttrs;
  const st = storage(args.backend, 'cpu');
  const [n, h, w, c] = images.shape;
  const [, oh, ow] = dy.shape;
  const out = st.alloc([images.shape]);
  const g = st.read(dy), [dx] = out.views();
  dx.fill(0);
  const rows = Array.from({ length: oh }, (_, y) => sourceIndex(y, h, oh, a));
  const cols = Array.from({ length: ow }, (_, x) => sourceIndex(x, w, ow, a));
  let s = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++, s += c) {
        const d = ((b * h + rows[y]) * w + cols[x]) * c;
        for (let q = 0; q < c; q++) dx[d + q] += g[s + q];
      }
    }
  }
  return out.infos[0];
}

/** Replaces tfjs-cpu's kernel; none on other backends. */
export function resizeNearestGradConfigs(backendName: string): tf.KernelConfig[] {
  return backendName === 'cpu' ? [{ kernelName: 'ResizeNearestNeighborGrad', backendName, kernelFunc: resizeNearestGrad as tf.KernelFunc }] : [];
}
