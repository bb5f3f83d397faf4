/**
 * Anchor generation with mmdetection `AnchorGenerator` semantics (RetinaNet:
 * octave base scale 4, 3 scales per octave, ratios 0.5/1/2, base size = stride,
 * center offset 0). Order: location-major (row, then column), then anchors
 * ratio-major, scale-minor — the order of a head's `[N, H, W, A·K]` output.
 */

export interface AnchorOptions {
  strides: number[];
  octaveBaseScale?: number;
  scalesPerOctave?: number;
  ratios?: number[];
  centerOffset?: number;
}

/** The A base anchors (xyxy around the origin) of one level. */
export function baseAnchors(baseSize: number, o: Omit<AnchorOptions, 'strides'>): Float32Array {
  const octave = o.octaveBaseScale ?? 4, spo = o.scalesPerOctave ?? 3, ratios = o.ratios ?? [0.5, 1, 2];
  const scales = Array.from({ length: spo }, (_, i) => octave * 2 ** (i / spo));
  const c = (o.centerOffset ?? 0) * baseSize;
  const out: number[] = [];
  for (const r of ratios) {
    const hr = Math.sqrt(r), wr = 1 / hr;
    for (const s of scales) {
      const w = baseSize * wr * s, h = baseSize * hr * s;
      out.push(c - 0.5 * w, c - 0.5 * h, c + 0.5 * w, c + 0.5 * h);
    }
  }
  return Float32Array.from(out);
}

export function numAnchors(o: Omit<AnchorOptions, 'strides'>): number {
  return (o.ratios ?? [0.5, 1, 2]).length * (o.scalesPerOctave ?? 3);
}

/** All anchors of one level on an `h × w` feature map: `[h·w·A·4]` xyxy pixels. */
export function gridAnchors(h: number, w: number, stride: number, o: Omit<AnchorOptions, 'strides'>): Float32Array {
  const base = baseAnchors(stride, o);
  const a = base.length / 4;
  const out = new Float32Array(h * w * a * 4);
  let k = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x * stride, sy = y * stride;
      for (let j = 0; j < a; j++) {
        out[k++] = base[4 * j] + sx; out[k++] = base[4 * j + 1] + sy;
        out[k++] = base[4 * j + 2] + sx; out[k++] = base[4 * j + 3] + sy;
      }
    }
  }
  return out;
}
