import * as fs from 'fs';
import * as path from 'path';

/** What `writeFileAtomic` writes: text, bytes, or chunks made one at a time (so a large file never sits whole in memory). */
export type FileContent = string | Uint8Array | Iterable<Uint8Array>;

/** One write call moves at most this much: a single write of over 2 GiB fails on Linux. */
const WRITE_CHUNK = 1 << 30;

/** Temp files being written now; removed if the process exits mid-write (an exception, `process.exit`). */
const inFlight = new Set<string>();
let hooked = false;

function removeOnExit(tmp: string): void {
  inFlight.add(tmp);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => { for (const f of inFlight) fs.rmSync(f, { force: true }); });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) {
    off += fs.writeSync(fd, bytes, off, Math.min(bytes.length - off, WRITE_CHUNK));
  }
}

/**
 * Writes a file atomically: a temp file in the same folder, fsync, rename.
 * A kill at any moment leaves either the old file or the new one, never half;
 * a failed write removes its temp file.
 */
export function writeFileAtomic(file: string, data: FileContent): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  removeOnExit(tmp);
  try {
    try {
      if (typeof data === 'string') writeAll(fd, Buffer.from(data, 'utf8'));
      else if (data instanceof Uint8Array) writeAll(fd, data);
      else for (const chunk of data) writeAll(fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    inFlight.delete(tmp);
  }
}
