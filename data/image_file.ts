/**
 * Reading an image file that a dataset names. Annotation files come from
 * strangers, so a `file_name` is not trusted: the file must resolve, symlinks
 * included, inside the images folder the user pointed at; it must be a
 * regular file under a size cap; and the width × height its header declares
 * must be under a pixel cap before it is decoded (a 1 MB PNG can declare
 * 20000 × 20000 and take 4 GB decoded).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readRegularFile } from '../util/read_file';

/** Pillow's decompression-bomb limit, `Image.MAX_IMAGE_PIXELS` (1024³ / 4 / 3). */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;
/** No PNG or JPEG of an image under the pixel cap is this large. */
export const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

export interface ImageLimits {
  /** The folder images must lie in (after resolving symlinks); none for files the user names directly. */
  root?: string;
  /** Largest width × height decoded. */
  maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxPixels: DEFAULT_MAX_IMAGE_PIXELS };

/** True when `file` is `root` or below it, by the path alone. */
export function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const realRoots = new Map<string, string>();

function realRoot(root: string): string {
  let r = realRoots.get(root);
  if (r === undefined) {
    r = fs.realpathSync(root);
    realRoots.set(root, r);
  }
  return r;
}

/** Why `file` may not be read from `root`, or undefined when it may. */
export function outsideRoot(file: string, root: string): string | undefined {
  if (!isInside(path.resolve(root), path.resolve(file))) return `${file}: outside the images folder ${root}; not read`;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return undefined; // a missing file is reported when it is opened
  }
  return isInside(realRoot(root), real) ? undefined : `${file}: resolves to ${real}, outside the images folder ${root}; not read`;
}

export class ImageRefused extends Error {
  constructor(message: string, readonly kind: 'image_outside_root' | 'image_too_large') {
    super(message);
  }
}

/** The bytes of an image file within the limits; throws `ImageRefused` or an error naming the file. */
export function readImageFile(file: string, limits: ImageLimits): Buffer {
  if (limits.root) {
    const why = outsideRoot(file, limits.root);
    if (why) throw new ImageRefused(why, 'image_outside_root');
  }
  return readRegularFile(file, 'image', MAX_IMAGE_FILE_BYTES);
}

/** Refuses a declared size over the pixel cap, before decoding. */
export function checkPixels(size: { width: number; height: number }, file: string, maxPixels: number): void {
  if (size.width * size.height > maxPixels) {
    throw new ImageRefused(`${file}: declares ${size.width}×${size.height} = ${(size.width * size.height / 1e6).toFixed(1)} Mpx, over the ${(maxPixels / 1e6).toFixed(1)} Mpx limit (data.maxImagePixels raises it)`, 'image_too_large');
  }
}
