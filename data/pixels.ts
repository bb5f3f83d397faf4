/** Format sniffing and RGBA → RGB: the pure halves of decoding, shared by Node (data/image.ts) and the browser page. */

export type ImageKind = 'png' | 'jpeg';

export function sniff(buf: Uint8Array): ImageKind | undefined {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  return undefined;
}

/** RGBA → RGB, dropping alpha (COCO-style training ignores it). */
export function rgbaToRgb(rgba: ArrayLike<number>, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[i * 3] = rgba[j];
    out[i * 3 + 1] = rgba[j + 1];
    out[i * 3 + 2] = rgba[j + 2];
  }
  return out;
}
