/**
 * Reading files that a user, or a stranger's dataset, names. Only regular
 * files are read: a FIFO would block forever and a device such as /dev/zero
 * never ends. The size is checked before anything is allocated, and the
 * file is opened non-blocking, so a FIFO swapped in after the check cannot
 * hang the open either.
 */
import * as fs from 'fs';

const MiB = 2 ** 20;

/** "12.0 MiB", for caps in messages. */
export function formatBytes(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface OpenedFile {
  fd: number;
  size: number;
}

/**
 * Opens `file` for reading when it is a regular file of at most `maxBytes`;
 * `what` says what the file is for ("config", "weights file") in errors.
 */
export function openRegularFile(file: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): OpenedFile {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: no such file (the ${what})` : `${file}: cannot open the ${what} (${code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file}: ${kindOf(st)}; the ${what} must be a regular file`);
    if (st.size > maxBytes) throw new Error(`${file}: ${formatBytes(st.size)} is over the ${formatBytes(maxBytes)} limit for a ${what}`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads `length` bytes at `position`, or fails naming the file when it ends first. */
export function readAt(fd: number, file: string, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, out, got, Math.min(length - got, 1 << 30), position + got);
    if (n === 0) throw new Error(`${file}: ended at byte ${position + got}, ${length - got} bytes short (the file is truncated or changed while being read)`);
    got += n;
  }
  return out;
}

/** The whole of a regular file of at most `maxBytes`. */
export function readRegularFile(file: string, what: string, maxBytes?: number): Buffer {
  const { fd, size } = openRegularFile(file, what, maxBytes);
  try {
    return readAt(fd, file, 0, size);
  } finally {
    fs.closeSync(fd);
  }
}
