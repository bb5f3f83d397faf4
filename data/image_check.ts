/**
 * One image file against its record: exists, is a PNG or JPEG, decodes (or
 * has a readable header), and has the declared size. Shared by the in-process
 * validator and the `data check` worker threads.
 */
import { decodeImage, imageSize } from './image';
import { checkPixels, ImageLimits, ImageRefused, readImageFile } from './image_file';

export type FileCheckMode = 'header' | 'decode';

export interface ImageRecord {
  id: number;
  file: string;
  /** 0 when the annotation file does not give it (then the file's size is taken). */
  width: number;
  height: number;
}

export interface FileCheckResult {
  problem?: { kind: 'image_missing' | 'image_undecodable' | 'image_size_mismatch' | 'image_outside_root' | 'image_too_large'; detail: string };
  /** The size the file has, when it could be read. */
  size?: { width: number; height: number };
}

export function checkImageFile(im: ImageRecord, mode: FileCheckMode, limits: ImageLimits): FileCheckResult {
  let buf: Buffer;
  try {
    buf = readImageFile(im.file, limits);
  } catch (e) {
    if (e instanceof ImageRefused) return { problem: { kind: e.kind, detail: e.message } };
    return { problem: { kind: 'image_missing', detail: (e as Error).message } };
  }
  let size: { width: number; height: number } | undefined;
  try {
    if (mode === 'decode') size = decodeImage(buf, im.file, limits.maxPixels);
    else {
      size = imageSize(buf);
      if (size) checkPixels(size, im.file, limits.maxPixels);
    }
  } catch (e) {
    if (e instanceof ImageRefused) return { problem: { kind: e.kind, detail: e.message } };
    return { problem: { kind: 'image_undecodable', detail: (e as Error).message } };
  }
  if (!size) return { problem: { kind: 'image_undecodable', detail: `${im.file}: not a readable PNG or JPEG` } };
  size = { width: size.width, height: size.height };
  if (im.width > 0 && (size.width !== im.width || size.height !== im.height)) {
    return { size, problem: { kind: 'image_size_mismatch', detail: `declared ${im.width}×${im.height}, file is ${size.width}×${size.height}` } };
  }
  return { size };
}
