/**
 * A restricted Python unpickler: the opcodes of protocols 0–5 that data needs
 * (numbers, strings, bytes, lists, tuples, dicts, memo, marks, persistent ids,
 * REDUCE / BUILD / NEWOBJ), and no code. Pickle is a program: every GLOBAL is
 * resolved through the caller's allowlist, and a name it does not know is
 * refused at the GLOBAL opcode, before anything could be called with it.
 *
 * Reference: CPython `Lib/pickle.py` and `Lib/pickletools.py` (opcode table).
 */

/** A dictionary key: what state dicts and training checkpoints use. */
export type PyKey = string | number | bigint | boolean | null;

/** A Python value as the unpickler builds it. */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyObject;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** `dict` and `collections.OrderedDict` (insertion order kept); `attrs` holds state set by BUILD. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  attrs?: PyValue;
}

/**
 * A value the allowlist made: a callable global (`call` given) or an opaque
 * object (`value` holds what the caller's code built, e.g. a tensor).
 */
export class PyObject {
  constructor(
    readonly kind: string,
    readonly call?: (args: PyValue[]) => PyValue,
    public value?: unknown,
    /** What BUILD does with a state for this object (default: ignore it). */
    readonly build?: (state: PyValue) => void,
  ) {}
}

export interface UnpickleOptions {
  /** Resolves `module.name`; throws to refuse it. */
  findGlobal(module: string, name: string): PyValue;
  /** Resolves a persistent id (PyTorch: a storage reference). */
  persistentLoad?(pid: PyValue): PyValue;
  /** Names the stream in errors (file and member). */
  where: string;
}

export class UnpicklingError extends Error {
  constructor(where: string, pos: number, message: string) {
    super(`${where}: ${message} (pickle byte ${pos})`);
    this.name = 'UnpicklingError';
  }
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

/** A tuple used as a dict key is keyed by its printed form, which may be at most this long. */
const MAX_KEY_TEXT = 4096;

/**
 * Keys of a dict: primitives by value; a tuple of primitives (and tuples) by
 * its printed form. The printing is bounded by `MAX_KEY_TEXT`, so a tuple
 * doubled through the memo cannot expand to gigabytes, and its depth by the
 * same budget (each level costs at least two characters).
 */
function toKey(k: PyValue, fail: (m: string) => never): PyKey {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
  if (!(k instanceof PyTuple)) return fail(`unhashable dict key of type ${typeName(k)}`);
  let budget = MAX_KEY_TEXT;
  const print = (v: PyValue): string => {
    budget -= 2;
    if (budget < 0) return fail(`a tuple dict key longer than ${MAX_KEY_TEXT} characters when printed`);
    if (v instanceof PyTuple) return `(${v.items.map(print).join(', ')})`;
    if (v === null || typeof v !== 'object') {
      const s = String(v);
      budget -= s.length;
      if (budget < 0) return fail(`a tuple dict key longer than ${MAX_KEY_TEXT} characters when printed`);
      return s;
    }
    return fail(`unhashable item of type ${typeName(v)} in a tuple dict key`);
  };
  return print(k);
}

function typeName(v: PyValue | typeof MARK): string {
  if (v === MARK) return 'mark';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyObject) return v.kind;
  return typeof v;
}

/** The longest LONG1 / LONG4 / INT / LONG argument read: no checkpoint holds a larger integer. */
export const MAX_INT_BYTES = 4096;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Little-endian two's-complement integer of `bytes` (LONG1 / LONG4); a number
 * when it fits exactly. Linear time: one hex string, parsed once.
 */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  const hex = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) hex[bytes.length - 1 - i] = HEX[bytes[i]];
  let v = BigInt(`0x${hex.join('')}`);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const asNumberIfSafe = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

const OPNAMES: Record<number, string> = { 0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER' };

/**
 * Unpickles one object starting at `start`; returns it and the offset after STOP
 * (legacy PyTorch files hold several pickles back to back).
 */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions, start = 0): { value: PyValue; end: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let pos = start;
  let opPos = start;
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const fail = (m: string): never => { throw new UnpicklingError(opts.where, opPos, m); };
  const need = (n: number): void => { if (pos + n > buf.length) fail(`unexpected end of data: needed ${n} more bytes, ${buf.length - pos} left (the file is truncated or corrupt)`); };
  const u8 = (): number => { need(1); return buf[pos++]; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`length ${v} exceeds the data`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('unexpected end of data inside a text argument');
    const s = latin1.decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (n: number): string => {
    const b = bytes(n);
    try { return text.decode(b); } catch { return fail('invalid UTF-8 in a string'); }
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('stack underflow (empty, or a mark on top)');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) return fail('no mark on the stack');
    const items = stack.splice(m + 1) as PyValue[];
    stack.pop(); // the mark itself
    return items;
  };
  const setItems = (target: PyValue, kv: PyValue[]): void => {
    if (!(target instanceof PyDict)) fail(`SETITEM(S) on a ${typeName(target)}`);
    const d = target as PyDict;
    for (let i = 0; i + 1 < kv.length; i += 2) d.map.set(toKey(kv[i], fail), kv[i + 1]);
  };
  const appendTo = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) fail(`APPEND(S) on a ${typeName(target)}`);
    // A loop, not push(...items): a spread of a million arguments overflows the call stack.
    for (const item of items) (target as PyValue[]).push(item);
  };
  const longBytes = (n: number): Uint8Array => {
    if (n > MAX_INT_BYTES) fail(`an integer of ${n} bytes (more than ${MAX_INT_BYTES})`);
    return bytes(n);
  };
  const intText = (s: string): number | bigint => {
    if (s.length > 2 * MAX_INT_BYTES) fail(`an integer of ${s.length} digits`);
    if (!/^[+-]?[0-9]+$/.test(s)) fail(`${JSON.stringify(s.slice(0, 40))} is not an integer`);
    return asNumberIfSafe(BigInt(s));
  };
  const callable = (f: PyValue, what: string): ((args: PyValue[]) => PyValue) => {
    if (!(f instanceof PyObject) || !f.call) return fail(`${what} of a ${typeName(f)}, which is not callable`);
    return f.call;
  };
  const tupleItems = (t: PyValue, what: string): PyValue[] => {
    if (!(t instanceof PyTuple)) return fail(`${what}: arguments are a ${typeName(t)}, not a tuple`);
    return t.items;
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo key ${i} is not set`);
    return memo.get(i)!;
  };
  const global = (module: string, name: string): PyValue => {
    try {
      return opts.findGlobal(module, name);
    } catch (e) {
      return fail((e as Error).message);
    }
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: pos += 8; break; // FRAME: a length hint only
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); stack.push(MARK); break; // MARK
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x64: { const kv = popMark(); const d = new PyDict(); setItems(d, kv); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); appendTo(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x8f: stack.push([]); break; // EMPTY_SET (as a list)
      case 0x90: { const items = popMark(); appendTo(top(), items); break; } // ADDITEMS
      case 0x91: { const items = popMark(); stack.push(items); break; } // FROZENSET
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) fail('negative LONG4 length'); stack.push(decodeLong(longBytes(n))); break; } // LONG4
      case 0x49: { // INT (text); protocol 0 writes bools as I01 / I00
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(intText(s));
        break;
      }
      case 0x4c: stack.push(intText(line().replace(/L$/, ''))); break; // LONG
      case 0x47: { need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x46: stack.push(parseFloat(line())); break; // FLOAT
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(u64())); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))); break; // UNICODE
      case 0x54: { const n = i32(); if (n < 0) fail('negative BINSTRING length'); stack.push(latin1.decode(bytes(n))); break; } // BINSTRING
      case 0x55: stack.push(latin1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x53: { const s = line(); stack.push(s.slice(1, -1)); break; } // STRING (quoted repr)
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(intText(line())), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(Number(intText(line())))); break; // GET
      case 0x63: { const module = line(), name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(), f = pop(); stack.push(callable(f, 'REDUCE')(tupleItems(args, 'REDUCE'))); break; } // REDUCE
      case 0x81: { const args = pop(), cls = pop(); stack.push(callable(cls, 'NEWOBJ')(tupleItems(args, 'NEWOBJ'))); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(), cls = pop(); stack.push(callable(cls, 'NEWOBJ_EX')(tupleItems(args, 'NEWOBJ_EX'))); break; } // NEWOBJ_EX
      case 0x62: { // BUILD: set the object's state; for data objects we only record it
        const state = pop(), obj = top();
        if (obj instanceof PyDict) obj.attrs = state;
        else if (obj instanceof PyObject) obj.build?.(state);
        else fail(`BUILD on a ${typeName(obj)}`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('a persistent id, but this stream defines none');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        if (!opts.persistentLoad) fail('a persistent id, but this stream defines none');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`opcode ${OPNAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`} is not supported by this restricted unpickler`);
    }
  }
}
