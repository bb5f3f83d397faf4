/**
 * A zip reader for `torch.save` archives that reads only what it is asked
 * for. It parses the central directory (zip64 too), refuses archives whose
 * members overlap (the zip-bomb construction of CVE-2019-13232) or run past
 * the directory, and reads a member with positional reads of the file: its
 * declared size is checked against the caller's cap and the compression
 * ratio before anything is allocated, inflation stops at the declared size,
 * and the CRC-32 is verified. Inflation and CRC are zlib's, through Node.
 *
 * Reference: PKWARE APPNOTE.TXT 6.3 (sections 4.3.7, 4.3.12, 4.3.14–16, 4.5.3).
 */
import * as zlib from 'zlib';
import { formatBytes, readAt } from '../util/read_file';

export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Where the member's data starts (after its local header). */
  dataOffset: number;
}

export interface ReadMemberLimits {
  /** Refuse a member that declares more bytes than this. */
  maxBytes: number;
  /** What the member is, for errors ("pickle", "storage 3"). */
  what: string;
}

/** Deflated members over this size must not expand more than `maxRatio` times. */
const RATIO_FLOOR = 2 ** 20;
const EOCD = 0x06054b50, EOCD64 = 0x06064b50, LOCATOR64 = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export class ZipArchive {
  private readonly members = new Map<string, ZipMember>();

  private constructor(readonly file: string, private readonly fd: number, readonly fileSize: number, private readonly maxRatio: number) {}

  /** Reads the directory of the zip open at `fd`; throws naming `file` when it is malformed. */
  static open(file: string, fd: number, fileSize: number, maxRatio: number): ZipArchive {
    const z = new ZipArchive(file, fd, fileSize, maxRatio);
    const dir = z.findDirectory();
    z.readDirectory(dir.offset, dir.size, dir.count);
    z.checkLayout(dir.offset);
    return z;
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  member(name: string): ZipMember | undefined {
    return this.members.get(name);
  }

  private fail(message: string): never {
    throw new Error(`${this.file}: ${message}`);
  }

  /** The end-of-central-directory record, and its zip64 form when the archive has one. */
  private findDirectory(): { offset: number; size: number; count: number } {
    const tailLength = Math.min(this.fileSize, 22 + 0xffff);
    const tail = readAt(this.fd, this.file, this.fileSize - tailLength, tailLength);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
    if (at < 0) this.fail(`not a complete zip archive: no end-of-directory record in the last ${tailLength} bytes (the file is truncated or corrupt — an incomplete download?)`);
    let count = tail.readUInt16LE(at + 10), size = tail.readUInt32LE(at + 12), offset = tail.readUInt32LE(at + 16);
    const eocdPos = this.fileSize - tailLength + at;
    if ((count === 0xffff || size === 0xffffffff || offset === 0xffffffff) && eocdPos >= 20) {
      const loc = readAt(this.fd, this.file, eocdPos - 20, 20);
      if (loc.readUInt32LE(0) === LOCATOR64) {
        const recPos = this.safeNumber(loc.readBigUInt64LE(8), 'zip64 directory position');
        if (recPos + 56 > this.fileSize) this.fail('the zip64 directory record lies past the end of the file');
        const rec = readAt(this.fd, this.file, recPos, 56);
        if (rec.readUInt32LE(0) !== EOCD64) this.fail('the zip64 locator points at no zip64 directory record');
        count = this.safeNumber(rec.readBigUInt64LE(32), 'zip64 member count');
        size = this.safeNumber(rec.readBigUInt64LE(40), 'zip64 directory size');
        offset = this.safeNumber(rec.readBigUInt64LE(48), 'zip64 directory offset');
      }
    }
    if (offset + size > this.fileSize) this.fail(`the zip directory (${size} bytes at ${offset}) lies past the end of the ${this.fileSize}-byte file (truncated?)`);
    // Every directory entry takes at least 46 bytes: a larger count is a lie.
    if (count * 46 > size) this.fail(`the zip directory claims ${count} members in ${size} bytes`);
    return { offset, size, count };
  }

  private safeNumber(v: bigint, what: string): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is out of range`);
    return Number(v);
  }

  private readDirectory(offset: number, size: number, count: number): void {
    const dir = readAt(this.fd, this.file, offset, size);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) this.fail(`zip directory entry ${i} is malformed (at byte ${offset + p})`);
      const nameLen = dir.readUInt16LE(p + 28), extraLen = dir.readUInt16LE(p + 30), commentLen = dir.readUInt16LE(p + 32);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > dir.length) this.fail(`zip directory entry ${i} runs past the directory`);
      const name = dir.toString('utf8', p + 46, p + 46 + nameLen);
      const m: ZipMember = {
        name, flags: dir.readUInt16LE(p + 8), method: dir.readUInt16LE(p + 10), crc: dir.readUInt32LE(p + 16),
        compressedSize: dir.readUInt32LE(p + 20), size: dir.readUInt32LE(p + 24), localOffset: dir.readUInt32LE(p + 42), dataOffset: 0,
      };
      this.applyZip64(m, dir.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
      if (this.members.has(name)) this.fail(`zip member "${name}" appears twice; which one is meant is ambiguous`);
      this.members.set(name, m);
      p = end;
    }
  }

  /** Sizes and offset that overflow 32 bits live in the zip64 extra field (id 1), in this order. */
  private applyZip64(m: ZipMember, extra: Buffer): void {
    const wide = (['size', 'compressedSize', 'localOffset'] as const).filter((k) => m[k] === 0xffffffff);
    if (!wide.length) return;
    for (let q = 0; q + 4 <= extra.length;) {
      const id = extra.readUInt16LE(q), len = extra.readUInt16LE(q + 2);
      if (id === 1) {
        if (len < wide.length * 8 || q + 4 + len > extra.length) break;
        wide.forEach((k, j) => { m[k] = this.safeNumber(extra.readBigUInt64LE(q + 4 + 8 * j), `zip64 ${k} of "${m.name}"`); });
        return;
      }
      q += 4 + len;
    }
    this.fail(`zip member "${m.name}" has 32-bit overflow markers but no zip64 sizes`);
  }

  /** Local headers give where each member's data starts; no two members may share bytes, and none may reach the directory. */
  private checkLayout(directoryOffset: number): void {
    const spans: Array<[number, number, string]> = [];
    for (const m of this.members.values()) {
      if (m.localOffset + 30 > directoryOffset) this.fail(`zip member "${m.name}" starts at byte ${m.localOffset}, inside or past the directory`);
      const h = readAt(this.fd, this.file, m.localOffset, 30);
      if (h.readUInt32LE(0) !== LOCAL) this.fail(`zip member "${m.name}" has no local header at byte ${m.localOffset}`);
      m.dataOffset = m.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
      const end = m.dataOffset + m.compressedSize;
      if (end > directoryOffset) this.fail(`zip member "${m.name}" (${m.compressedSize} bytes at ${m.dataOffset}) runs into the directory or past the end of the file (truncated?)`);
      spans.push([m.localOffset, end, m.name]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) this.fail(`zip members "${spans[i - 1][2]}" and "${spans[i][2]}" overlap; refused (overlapping members are how zip bombs multiply their size)`);
    }
  }

  /** A member's bytes, checked: declared size within `limits`, ratio, exact inflated size, CRC-32. */
  read(name: string, limits: ReadMemberLimits): Uint8Array {
    const m = this.members.get(name);
    if (!m) this.fail(`the ${limits.what} "${name}" is missing from the archive`);
    const where = `zip member "${name}" (${limits.what})`;
    if (m.flags & 1) this.fail(`${where} is encrypted`);
    if (m.size > limits.maxBytes) this.fail(`${where} declares ${formatBytes(m.size)}, over the ${formatBytes(limits.maxBytes)} it may hold`);
    let data: Uint8Array;
    if (m.method === 0) {
      if (m.compressedSize !== m.size) this.fail(`${where} is stored uncompressed but its two sizes differ (${m.compressedSize} and ${m.size})`);
      data = readAt(this.fd, this.file, m.dataOffset, m.size);
    } else if (m.method === 8) {
      if (m.size > RATIO_FLOOR && m.size > this.maxRatio * m.compressedSize) {
        this.fail(`${where} would inflate ${formatBytes(m.compressedSize)} to ${formatBytes(m.size)}, a ratio over ${this.maxRatio} (a zip bomb?; GHOSTDET_MAX_ZIP_RATIO raises the limit)`);
      }
      data = this.inflate(m, where);
    } else {
      return this.fail(`${where} uses compression method ${m.method}; only stored (0) and deflate (8) are read`);
    }
    if (zlib.crc32(data) >>> 0 !== m.crc) this.fail(`${where}: CRC-32 mismatch; the bytes are corrupt`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  private inflate(m: ZipMember, where: string): Uint8Array {
    const packed = readAt(this.fd, this.file, m.dataOffset, m.compressedSize);
    let out: Buffer;
    try {
      // One byte of headroom tells "more than declared" apart from "exactly declared".
      out = zlib.inflateRawSync(packed, { maxOutputLength: Math.max(1, m.size + 1) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return this.fail(code === 'ERR_BUFFER_TOO_LARGE' ? `${where} inflates past its declared ${m.size} bytes` : `${where} does not inflate (${(e as Error).message})`);
    }
    if (out.length !== m.size) this.fail(`${where} inflates to ${out.length} bytes, not the ${m.size} declared`);
    return out;
  }
}
