/**
 * Reads a COCO instances json for box training without its segmentations.
 * Polygons are most of a COCO file (train2017: ~75% of 448 MB) and JSON.parse
 * of them dominates loading; training on boxes never reads them. Each
 * `"segmentation": …` value is replaced by `true` (present, non-empty) or
 * `false` (an empty list) in the bytes before parsing, so the validator can
 * still tell whether an annotation had one.
 *
 * A key is recognised only where JSON allows one to start (after `{` or `,`):
 * inside a string a quote is always escaped, so a file name or caption that
 * contains the text `"segmentation"` is never touched.
 */
import { readRegularFile } from '../util/read_file';
import { CocoFormatError, MAX_JSON_BYTES, readJson } from './coco_json';

const KEY = Buffer.from('"segmentation"');
const [SPACE, TAB, LF, CR] = [0x20, 0x09, 0x0a, 0x0d];
const [COMMA, COLON, QUOTE, BACKSLASH] = [0x2c, 0x3a, 0x22, 0x5c];
const [LBRACE, RBRACE, LBRACKET, RBRACKET] = [0x7b, 0x7d, 0x5b, 0x5d];
const TRUE = Buffer.from('true'), FALSE = Buffer.from('false');

const isSpace = (b: number): boolean => b === SPACE || b === TAB || b === LF || b === CR;

/** Index just past the JSON value starting at `i` (an array, object, string or scalar). */
function skipValue(buf: Buffer, i: number): number {
  const first = buf[i];
  if (first !== LBRACKET && first !== LBRACE && first !== QUOTE) {
    while (i < buf.length && buf[i] !== COMMA && buf[i] !== RBRACE && buf[i] !== RBRACKET && !isSpace(buf[i])) i++;
    return i;
  }
  let depth = 0;
  for (; i < buf.length; i++) {
    const b = buf[i];
    if (b === QUOTE) {
      // RLE `counts` strings: skip to the closing quote, honouring escapes.
      for (i++; i < buf.length && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) i++;
      if (depth === 0) return i + 1;
    } else if (b === LBRACKET || b === LBRACE) depth++;
    else if (b === RBRACKET || b === RBRACE) {
      if (--depth === 0) return i + 1;
    }
  }
  return i;
}

/** True for `[]`, `[ ]`: an empty segmentation list. */
function isEmptyList(buf: Buffer, start: number, end: number): boolean {
  if (buf[start] !== LBRACKET) return false;
  for (let i = start + 1; i < end - 1; i++) if (!isSpace(buf[i])) return false;
  return true;
}

/** The file's bytes with every segmentation value replaced by true/false. */
export function stripSegmentations(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let copied = 0;
  let at = buf.indexOf(KEY);
  while (at >= 0) {
    let p = at - 1;
    while (p >= 0 && isSpace(buf[p])) p--;
    let next = at + KEY.length;
    if (p >= 0 && (buf[p] === LBRACE || buf[p] === COMMA)) {
      let v = next;
      while (v < buf.length && isSpace(buf[v])) v++;
      if (buf[v] === COLON) {
        v++;
        while (v < buf.length && isSpace(buf[v])) v++;
        const end = skipValue(buf, v);
        parts.push(buf.subarray(copied, v), isEmptyList(buf, v, end) ? FALSE : TRUE);
        copied = next = end;
      }
    }
    at = buf.indexOf(KEY, next);
  }
  if (copied === 0) return buf;
  parts.push(buf.subarray(copied));
  return Buffer.concat(parts);
}

/**
 * Parsed instances with segmentations reduced to true/false. A file that does
 * not parse is read again in full, so the error is JSON.parse's own on the
 * user's bytes.
 */
export function readInstancesForBoxes(file: string): unknown {
  let buf: Buffer;
  try {
    buf = readRegularFile(file, 'annotation file', MAX_JSON_BYTES);
  } catch (e) {
    throw new CocoFormatError(file, 'file', (e as Error).message.replace(`${file}: `, ''));
  }
  try {
    return JSON.parse(stripSegmentations(buf).toString('utf8'));
  } catch {
    return readJson(file);
  }
}
