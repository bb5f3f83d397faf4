/**
 * Writes the pickles `torch.save` makes (protocol 2), with every field under
 * the test's control: storage types, keys, sizes, strides and offsets that
 * PyTorch would never write. Reference: CPython `Lib/pickletools.py`.
 */
export class PickleWriter {
  private out: number[] = [0x80, 0x02];

  raw(...b: number[]): this {
    for (const x of b) this.out.push(x);
    return this;
  }

  bytes(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.raw(0x58, ...u32(b.length));
    return this.bytes(b);
  }

  /** An int (BININT or LONG1), or a float (BINFLOAT) when it is not an integer. */
  num(n: number): this {
    if (!Number.isInteger(n)) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(n);
      return this.raw(0x47).bytes(b);
    }
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a, ...u32(n >>> 0));
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return this.raw(0x8a, 8).bytes(b);
  }

  global(module: string, name: string): this {
    return this.raw(0x63).bytes(Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }

  mark(): this { return this.raw(0x28); }
  tuple(): this { return this.raw(0x74); }
  emptyTuple(): this { return this.raw(0x29); }
  emptyList(): this { return this.raw(0x5d); }
  list(): this { return this.raw(0x6c); }
  append(): this { return this.raw(0x61); }
  reduce(): this { return this.raw(0x52); }
  setitems(): this { return this.raw(0x75); }
  setitem(): this { return this.raw(0x73); }
  emptyDict(): this { return this.raw(0x7d); }
  put(i: number): this { return this.raw(0x72, ...u32(i)); }
  get(i: number): this { return this.raw(0x6a, ...u32(i)); }
  persid(): this { return this.raw(0x51); }
  falsy(): this { return this.raw(0x89); }

  ints(xs: number[]): this {
    this.mark();
    for (const x of xs) this.num(x);
    return this.tuple();
  }

  /** `OrderedDict()`, as torch.save writes it. */
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }

  finish(): Uint8Array {
    this.out.push(0x2e); // STOP
    return Uint8Array.from(this.out);
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export interface TensorSpec {
  name: string;
  /** A storage type name under `torch` (FloatStorage; or a hostile spelling). */
  storageType?: string;
  key: string;
  /** Elements the storage declares. */
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** A state_dict of tensors over storages, as `torch.save(model.state_dict())` pickles it. */
export function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  const w = new PickleWriter().orderedDict().mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.key).str('cpu').num(t.numel).tuple().persid();
    w.num(t.offset).ints(t.shape).ints(t.stride).falsy().orderedDict().tuple().reduce();
  }
  return w.setitems().finish();
}
