/**
 * Image decoding to packed RGB bytes: PNG with `pngjs`, JPEG with `jpeg-js`
 * (pure JS: installs everywhere, no native binary; see bench/results/data.json
 * for its speed). Grayscale, CMYK and alpha inputs come out as RGB; a corrupt
 * file throws an error naming it.
 */
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { checkPixels, DEFAULT_IMAGE_LIMITS, ImageLimits, readImageFile } from './image_file';
import { ImageKind, rgbaToRgb, sniff } from './pixels';

export interface RgbImage {
  width: number;
  height: number;
  /** Packed RGB, row-major, length width·height·3. */
  data: Uint8Array;
}

export { sniff, ImageKind };

/**
 * Decodes PNG or JPEG bytes; `name` is used in errors. The size in the header
 * is checked against `maxPixels` first; jpeg-js is given the same cap, for a
 * JPEG whose frame header comes after what `imageSize` scans.
 */
export function decodeImage(buf: Buffer, name: string, maxPixels = DEFAULT_IMAGE_LIMITS.maxPixels): RgbImage {
  const kind = sniff(buf);
  const declared = imageSize(buf);
  if (declared) checkPixels(declared, name, maxPixels);
  try {
    if (kind === 'png') {
      // pngjs expands palette, grayscale and 16-bit images to 8-bit RGBA.
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width * png.height) };
    }
    if (kind === 'jpeg') {
      // jpeg-js converts YCbCr, grayscale and (Adobe) CMYK to RGBA.
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 2048 });
      return { width: j.width, height: j.height, data: rgbaToRgb(j.data, j.width * j.height) };
    }
  } catch (e) {
    throw new Error(`${name}: cannot decode ${kind?.toUpperCase()} image: ${(e as Error).message}`);
  }
  throw new Error(`${name}: not a PNG or JPEG file`);
}

/** Reads and decodes an image file within `limits` (a user-named file by default: no folder, Pillow's pixel cap). */
export function readImage(file: string, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): RgbImage {
  return decodeImage(readImageFile(file, limits), file, limits.maxPixels);
}

/**
 * Width and height from the file header only (PNG IHDR, JPEG SOFn), for
 * validation without decoding; undefined when the header cannot be parsed.
 */
export function imageSize(buf: Buffer): { width: number; height: number } | undefined {
  const kind = sniff(buf);
  if (kind === 'png' && buf.length >= 24) return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  if (kind === 'jpeg') {
    let i = 2;
    while (i + 9 < buf.length) {
      if (buf[i] !== 0xff) return undefined;
      const marker = buf[i + 1];
      const len = buf.readUInt16BE(i + 2);
      // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
  }
  return undefined;
}

/** Encodes packed RGB as PNG (synthetic data, visualisations). */
export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}
