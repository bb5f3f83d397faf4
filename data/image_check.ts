/**
 * One image file against its record: exists, is a PNG or JPEG, decodes (or
 * has a readable header), and has the declared size. Shared by the in-process
 * validator and the `data check` worker threads.
 */
import * as fs from 'fs';
import { decodeImage, imageSize } from './image';

export type FileCheckMode = 'header' | 'decode';

export interface ImageRecord {
  id: number;
  file: string;
  /** 0 when the annotation file does not give it (then the file's size is taken). */
  width: number;
  height: number;
}

export interface FileCheckResult {
  problem?: { kind: 'image_missing' | 'image_undecodable' | 'image_size_mismatch'; detail: string };
  /** The size the file has, when it could be read. */
  size?: { width: number; height: number };
}

export function checkImageFile(im: ImageRecord, mode: FileCheckMode): FileCheckResult {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(im.file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: { kind: 'image_missing', detail: `${im.file}${code && code !== 'ENOENT' ? ` (${code})` : ''}` } };
  }
  let size: { width: number; height: number } | undefined;
  try {
    size = mode === 'decode' ? decodeImage(buf, im.file) : imageSize(buf);
  } catch (e) {
    return { problem: { kind: 'image_undecodable', detail: (e as Error).message } };
  }
  if (!size) return { problem: { kind: 'image_undecodable', detail: `${im.file}: not a readable PNG or JPEG` } };
  size = { width: size.width, height: size.height };
  if (im.width > 0 && (size.width !== im.width || size.height !== im.height)) {
    return { size, problem: { kind: 'image_size_mismatch', detail: `declared ${im.width}×${im.height}, file is ${size.width}×${size.height}` } };
  }
  return { size };
}
