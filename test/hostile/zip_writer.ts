/**
 * Writes zip archives the way `torch.save` does (members stored), and the
 * ways it never would: deflated members, declared sizes that lie, bad CRCs,
 * and directory entries that point into each other's bytes.
 * Reference: PKWARE APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16.
 */
import * as zlib from 'zlib';

export interface ZipEntry {
  name: string;
  /** The member's bytes as stored in the archive (already deflated when `method` is 8). */
  data: Uint8Array;
  method?: 0 | 8;
  /** The size the directory declares (default: `data.length` when stored). */
  size?: number;
  /** Default: the CRC-32 of `data` when stored; required when deflated. */
  crc?: number;
  /** Point this directory entry at the local header of the named member instead of its own (overlap). */
  aliasOf?: string;
}

/**
 * The fields local and central headers share, in the same order from `at`
 * (8 in a local header, 10 in a central one): method, time and date (left
 * 0), CRC-32, compressed size, size, name length.
 */
function writeMemberFields(b: Buffer, at: number, method: number, crc: number, compressed: number, size: number, nameLength: number): void {
  b.writeUInt16LE(method, at);
  b.writeUInt32LE(crc >>> 0, at + 6);
  b.writeUInt32LE(compressed, at + 10);
  b.writeUInt32LE(Math.min(size, 0xffffffff), at + 14);
  b.writeUInt16LE(nameLength, at + 18);
}

export function zipArchive(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets = new Map<string, number>();
  let pos = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method ?? 0;
    const size = e.size ?? e.data.length;
    const crc = e.crc ?? zlib.crc32(e.data);
    let local = pos;
    if (e.aliasOf !== undefined) local = offsets.get(e.aliasOf)!;
    else {
      const h = Buffer.alloc(30);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(20, 4);
      writeMemberFields(h, 8, method, crc, e.data.length, size, name.length);
      parts.push(h, name, Buffer.from(e.data));
      offsets.set(e.name, pos);
      pos += 30 + name.length + e.data.length;
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    writeMemberFields(c, 10, method, crc, e.data.length, size, name.length);
    c.writeUInt32LE(local, 42);
    central.push(c, name);
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(pos, 16);
  return Buffer.concat([...parts, dir, end]);
}

/** A `torch.save` archive: the pickle, version, byte order and one stored member per storage. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, extra: ZipEntry[] = []): Buffer {
  return zipArchive([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: Buffer.from('3\n') },
    ...extra,
  ]);
}
