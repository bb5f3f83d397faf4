/**
 * Image bytes → packed RGB in the page. JPEG goes through jpeg-js, the
 * decoder `ghostdet predict` uses, so the page sees the very pixels Node sees
 * (browsers' JPEG decoders differ in their IDCT). PNG is lossless: the
 * browser decodes it, with colour management and premultiplication off.
 */
import * as jpeg from 'jpeg-js';
import type { RgbImage } from '../data/image';
import { rgbaToRgb, sniff } from '../data/pixels';

export async function decodeInBrowser(bytes: Uint8Array, name: string): Promise<RgbImage> {
  const kind = sniff(bytes);
  if (!kind) throw new Error(`${name} is not a PNG or JPEG image`);
  try {
    if (kind === 'jpeg') {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: j.width, height: j.height, data: rgbaToRgb(j.data, j.width * j.height) };
    }
    const bmp = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    return { width: bmp.width, height: bmp.height, data: rgbaToRgb(d, bmp.width * bmp.height) };
  } catch (e) {
    throw new Error(`${name}: cannot decode ${kind.toUpperCase()} image: ${(e as Error).message}`);
  }
}
