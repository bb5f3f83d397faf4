/**
 * The hostile inputs: files a stranger could hand a user, one per case,
 * written into a folder by the case itself (small files; the large ones are
 * declared sizes, sparse files or compressed zeros). Each case says which
 * command reads it and what a correct reader does: refuse it with a message
 * naming the file, or accept it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import { deflateZeros, zlibZeros } from './deflate_zeros';
import { PickleWriter, stateDictPickle, TensorSpec } from './pickle_writer';
import { torchZip, zipArchive } from './zip_writer';

export type CaseClass = 'zip' | 'geometry' | 'allowlist' | 'pickle' | 'safetensors' | 'images' | 'configs';

export interface Made {
  /** The ghostdet command line. */
  args: string[];
  /** Exit 0 or not. */
  accept: boolean;
  /** What stdout + stderr must say. */
  says: RegExp;
  /** Further checks on an accepted run, given the case folder. */
  check?: (dir: string) => void;
}

export interface HostileCase {
  cls: CaseClass;
  name: string;
  make(dir: string): Made;
}

const GiB = 2 ** 30, MiB = 2 ** 20;
const memo = new Map<number, Uint8Array>();
/** Compressed zeros, made once per size for the whole run. */
const zeros = (n: number): Uint8Array => memo.get(n) ?? (memo.set(n, deflateZeros(n)), memo.get(n)!);

const floats = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).map((_, i) => i).buffer);

function write(dir: string, name: string, data: Uint8Array | string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

/** One tensor over one storage of `numel` floats, with the geometry under test. */
function oneTensor(over: Partial<TensorSpec>, numel = 16): Uint8Array {
  return stateDictPickle([{ name: 'w', key: '0', numel, offset: 0, shape: [4, 4], stride: [4, 1], ...over }]);
}

/** A checkpoint that `convert` reads, refused or not; `out` is where the safetensors would go. */
function convertCase(dir: string, file: string, accept: boolean, says: RegExp, check?: (dir: string) => void): Made {
  return { args: ['convert', file, path.join(dir, 'out.safetensors')], accept, says, check };
}

function geometryCase(name: string, over: Partial<TensorSpec>, says: RegExp, numel = 16): HostileCase {
  return {
    cls: 'geometry', name,
    make: (dir) => convertCase(dir, write(dir, 'g.pt', torchZip(oneTensor(over, numel), { 0: floats(numel) })), false, says),
  };
}

function allowlistCase(spelling: string): HostileCase {
  return {
    cls: 'allowlist', name: `storage type torch.${spelling}`,
    make: (dir) => convertCase(dir, write(dir, 'a.pt', torchZip(oneTensor({ storageType: spelling }), { 0: floats(16) })), false, new RegExp(`torch\\.${spelling}.*nothing was executed`)),
  };
}

/** A safetensors file from a hand-written header (any JSON, any numbers) and a data section. */
function safetensorsFile(header: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([head, Buffer.from(header), data]);
}

function safetensorsCase(name: string, header: string, dataBytes: number, says: RegExp): HostileCase {
  return {
    cls: 'safetensors', name,
    make: (dir) => convertCase(dir, write(dir, 's.safetensors', safetensorsFile(header, new Uint8Array(dataBytes))), false, says),
  };
}

const tensorEntry = (dtype: string, shape: unknown, offsets: unknown): string => JSON.stringify({ dtype, shape, data_offsets: offsets });

/** A folder of images with one good PNG, and an instances json naming it and `hostile`. */
function imagesCase(name: string, hostile: (dir: string, images: string) => string, says: RegExp, extraArgs: string[] = []): HostileCase {
  return {
    cls: 'images', name,
    make: (dir) => {
      const images = path.join(dir, 'images');
      fs.mkdirSync(images);
      const png = new PNG({ width: 8, height: 8 });
      fs.writeFileSync(path.join(images, 'good.png'), PNG.sync.write(png));
      const fileName = hostile(dir, images);
      const ann = write(dir, 'instances.json', JSON.stringify({
        images: [{ id: 1, file_name: 'good.png', width: 8, height: 8 }, { id: 2, file_name: fileName, width: 640, height: 480 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4], area: 16, iscrowd: 0 }, { id: 2, image_id: 2, category_id: 1, bbox: [1, 1, 4, 4], area: 16, iscrowd: 0 }],
        categories: [{ id: 1, name: 'thing' }],
      }));
      return { args: ['data', 'check', '--ann', ann, '--images', images, '--workers', '1', ...extraArgs], accept: true, says: new RegExp(`usable: 1 images[\\s\\S]*${says.source}`) };
    },
  };
}

/** A PNG whose IHDR declares width × height and whose IDAT inflates to that many zero pixels. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlibZeros(height * (width * 3 + 1))), chunk('IEND', new Uint8Array(0))]);
}

function configCase(name: string, make: (dir: string) => string, says: RegExp): HostileCase {
  return { cls: 'configs', name, make: (dir) => ({ args: ['info', '--backend', 'cpu', '-c', make(dir)], accept: false, says }) };
}

function fifo(file: string): string {
  execFileSync('mkfifo', [file]);
  return file;
}

export const CASES: HostileCase[] = [
  // ── zip ────────────────────────────────────────────────────────────────
  {
    cls: 'zip', name: 'data.pkl: 1 GiB of deflated zeros',
    make: (dir) => convertCase(dir, write(dir, 'bomb.pt', zipArchive([
      { name: 'archive/data.pkl', data: zeros(GiB), method: 8, size: GiB, crc: 0 },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ])), false, /data\.pkl.*declares 1024\.0 MiB/),
  },
  {
    cls: 'zip', name: 'valid checkpoint + ten unreferenced 1 GiB members',
    make: (dir) => convertCase(dir, write(dir, 'extra.pt', torchZip(oneTensor({}), { 0: floats(16) },
      Array.from({ length: 10 }, (_, i) => ({ name: `archive/junk/${i}`, data: zeros(GiB), method: 8 as const, size: GiB, crc: 0 })))), true, /kept 1 tensors/),
  },
  {
    cls: 'zip', name: 'two members sharing bytes (overlap)',
    make: (dir) => convertCase(dir, write(dir, 'overlap.pt', torchZip(stateDictPickle([
      { name: 'a', key: '0', numel: 16, offset: 0, shape: [16], stride: [1] }, { name: 'b', key: '1', numel: 16, offset: 0, shape: [16], stride: [1] },
    ]), { 0: floats(16) }, [{ name: 'archive/data/1', data: floats(16), aliasOf: 'archive/data/0' }])), false, /overlap/),
  },
  {
    cls: 'zip', name: 'storage member declaring 4 GiB',
    make: (dir) => convertCase(dir, write(dir, 'declared.pt', zipArchive([
      { name: 'archive/data.pkl', data: oneTensor({}) },
      { name: 'archive/data/0', data: floats(16), size: 0xffffffff - 1 },
    ])), false, /storage "0"/),
  },
  {
    cls: 'zip', name: 'bit flip inside a stored tensor',
    make: (dir) => {
      const b = torchZip(oneTensor({}), { 0: floats(16) });
      const at = b.indexOf(Buffer.from(floats(16).subarray(20, 28)));
      b[at] ^= 0x10;
      return convertCase(dir, write(dir, 'flip.pt', b), false, /data\/0.*CRC-32 mismatch/);
    },
  },
  // ── tensor geometry ────────────────────────────────────────────────────
  {
    cls: 'geometry', name: '100 views of one 64 MiB storage',
    make: (dir) => {
      const n = (64 * MiB) / 4;
      const views = Array.from({ length: 100 }, (_, i) => ({ name: `v${i}`, key: '0', numel: n, offset: 0, shape: [n], stride: [1] }));
      return convertCase(dir, write(dir, 'views.pt', torchZip(stateDictPickle(views), { 0: new Uint8Array(64 * MiB) })), false, /GHOSTDET_MAX_VIEW_EXPANSION/);
    },
  },
  {
    cls: 'geometry', name: '3 views of one 64 MiB storage (legitimate)',
    make: (dir) => {
      const n = (64 * MiB) / 4;
      const views = [
        { name: 'w', key: '0', numel: n, offset: 0, shape: [4096, 4096], stride: [4096, 1] },
        { name: 'wt', key: '0', numel: n, offset: 0, shape: [4096, 4096], stride: [1, 4096] },
        { name: 'half', key: '0', numel: n, offset: n / 2, shape: [n / 2], stride: [1] },
      ];
      return convertCase(dir, write(dir, 'views3.pt', torchZip(stateDictPickle(views), { 0: floats(n) })), true, /kept 3 tensors/, (d) => {
        const out = fs.readFileSync(path.join(d, 'out.safetensors'));
        const n8 = Number(out.readBigUInt64LE(0));
        const header = JSON.parse(out.toString('utf8', 8, 8 + n8)) as Record<string, { data_offsets: [number, number] }>;
        const at = (name: string, i: number): number => out.readFloatLE(8 + n8 + header[name].data_offsets[0] + 4 * i);
        if (at('wt', 1) !== 4096 || at('w', 1) !== 1 || at('half', 0) !== n / 2) throw new Error('views written wrongly');
      });
    },
  },
  geometryCase('stride 0 over one float, 2^26 elements', { shape: [2 ** 26], stride: [0] }, /GHOSTDET_MAX_VIEW_EXPANSION/, 1),
  geometryCase('negative stride', { shape: [4], stride: [-1], offset: 3 }, /strides \[-1\]/),
  geometryCase('negative offset', { offset: -2 }, /offset -2/),
  geometryCase('shape past the storage', { shape: [8, 8], stride: [8, 1] }, /past its storage/),
  geometryCase('shape [-1, -1]', { shape: [-1, -1] }, /shape \[-1,-1\]/),
  geometryCase('shape [0.5, 8]', { shape: [0.5, 8], stride: [8, 1] }, /not a tuple of integers/),
  geometryCase('shape [NaN]', { shape: [NaN], stride: [1] }, /not a tuple of integers/),
  geometryCase('shape [2^20, 2^20] over 16 floats', { shape: [2 ** 20, 2 ** 20], stride: [2 ** 20, 1] }, /past its storage/),
  // ── allowlist ──────────────────────────────────────────────────────────
  allowlistCase('constructor'),
  allowlistCase('__proto__'),
  allowlistCase('toString'),
  // ── pickle structure ───────────────────────────────────────────────────
  {
    cls: 'pickle', name: 'LONG4 integer of 1 MiB',
    make: (dir) => {
      const w = new PickleWriter().emptyDict().str('x').raw(0x8b, 0, 0, 0x10, 0).bytes(new Uint8Array(MiB).fill(0x5a)).setitem();
      return convertCase(dir, write(dir, 'long.pt', torchZip(w.finish(), {})), false, /integer of 1048576 bytes/);
    },
  },
  {
    cls: 'pickle', name: 'memo-doubled tuple (2^30 leaves) as a dict key',
    make: (dir) => {
      const w = new PickleWriter().emptyDict().str('leaf').raw(0x85).put(0).raw(0x30);
      for (let i = 1; i <= 30; i++) w.get(i - 1).get(i - 1).raw(0x86).put(i).raw(0x30);
      w.get(30).str('v').setitem();
      return convertCase(dir, write(dir, 'key.pt', torchZip(w.finish(), {})), false, /tuple dict key longer than 4096/);
    },
  },
  {
    cls: 'pickle', name: '100k-deep nested lists',
    make: (dir) => {
      const w = new PickleWriter().emptyDict().str('deep');
      for (let i = 0; i < 100_000; i++) w.emptyList();
      for (let i = 1; i < 100_000; i++) w.append();
      w.setitem();
      return convertCase(dir, write(dir, 'deep.pt', torchZip(w.finish(), {})), false, /found no state_dict/);
    },
  },
  {
    cls: 'pickle', name: '5 million memo entries, then a state_dict',
    make: (dir) => {
      const w = new PickleWriter();
      for (let i = 0; i < 5_000_000; i++) w.raw(0x4e).put(i).raw(0x30);
      const body = oneTensor({}).subarray(2, -1); // the state_dict's opcodes without PROTO and STOP
      return convertCase(dir, write(dir, 'memo.pt', torchZip(w.bytes(body).finish(), { 0: floats(16) })), true, /kept 1 tensors/);
    },
  },
  // ── safetensors ────────────────────────────────────────────────────────
  safetensorsCase('negative data_offsets', `{"w":${tensorEntry('F32', [2], [-8, 0])}}`, 8, /data_offsets \[-8,0\]/),
  safetensorsCase('far-negative data_offsets', `{"w":${tensorEntry('F32', [2], [-1e15, -1e15 + 8])}}`, 8, /data_offsets/),
  safetensorsCase('fractional data_offsets', `{"w":${tensorEntry('F32', [2], [0.5, 8.5])}}`, 9, /data_offsets \[0\.5,8\.5\]/),
  safetensorsCase('reversed data_offsets', `{"w":${tensorEntry('F32', [2], [8, 0])}}`, 8, /begin ≤ end/),
  safetensorsCase('overlapping tensors', `{"a":${tensorEntry('F32', [4], [0, 16])},"b":${tensorEntry('F32', [4], [8, 24])}}`, 24, /overlap/),
  safetensorsCase('negative shape', `{"w":${tensorEntry('F32', [-1, -2], [0, 8])}}`, 8, /shape \[-1,-2\]/),
  safetensorsCase('fractional shape', `{"w":${tensorEntry('F32', [0.5, 4], [0, 8])}}`, 8, /shape \[0\.5,4\]/),
  safetensorsCase('trailing bytes', `{"w":${tensorEntry('F32', [2], [0, 8])}}`, 4096, /trailing bytes/),
  {
    cls: 'safetensors', name: '500 MB header (sparse file)',
    make: (dir) => {
      const f = path.join(dir, 'big.safetensors');
      const head = Buffer.alloc(9);
      head.writeBigUInt64LE(500_000_000n);
      head[8] = 0x7b;
      fs.writeFileSync(f, head);
      fs.truncateSync(f, 8 + 500_000_000);
      return convertCase(dir, f, false, /over the 100 MB limit/);
    },
  },
  {
    cls: 'safetensors', name: 'a tensor named __proto__ (legitimate)',
    make: (dir) => convertCase(dir, write(dir, 'proto.safetensors', safetensorsFile(`{"__proto__":${tensorEntry('F32', [2], [0, 8])},"w":${tensorEntry('F32', [2], [8, 16])}}`, floats(4))), true, /kept 2 tensors/, (d) => {
      const out = fs.readFileSync(path.join(d, 'out.safetensors'));
      const header = JSON.parse(out.toString('utf8', 8, 8 + Number(out.readBigUInt64LE(0))));
      if (!Object.prototype.hasOwnProperty.call(header, '__proto__')) throw new Error('__proto__ was dropped from the output');
    }),
  },
  // ── images named by annotations ────────────────────────────────────────
  imagesCase('file_name ../../../../etc/passwd', () => '../../../../etc/passwd', /image_outside_root/),
  imagesCase('file_name absolute /etc/passwd', () => '/etc/passwd', /image_outside_root/),
  imagesCase('symlink to a PNG outside --images', (dir, images) => {
    fs.mkdirSync(path.join(dir, 'outside'));
    fs.writeFileSync(path.join(dir, 'outside', 'secret.png'), PNG.sync.write(new PNG({ width: 640, height: 480 })));
    fs.symlinkSync(path.join(dir, 'outside', 'secret.png'), path.join(images, 'link.png'));
    return 'link.png';
  }, /image_outside_root/),
  imagesCase('file_name /dev/zero', () => '/dev/zero', /image_outside_root/),
  imagesCase('file_name /dev/zero, --headers-only', () => '/dev/zero', /image_outside_root/, ['--headers-only']),
  imagesCase('symlink to /dev/zero inside --images', (_dir, images) => {
    fs.symlinkSync('/dev/zero', path.join(images, 'zero.png'));
    return 'zero.png';
  }, /image_outside_root/),
  imagesCase('a FIFO inside --images', (_dir, images) => path.basename(fifo(path.join(images, 'pipe.png'))), /a FIFO; the image must be a regular file/),
  imagesCase('PNG declaring 20000×20000', (_dir, images) => {
    fs.writeFileSync(path.join(images, 'huge.png'), pngBomb(20000, 20000));
    return 'huge.png';
  }, /image_too_large[\s\S]*400\.0 Mpx/),
  // ── configs ────────────────────────────────────────────────────────────
  configCase('the config is /dev/zero', () => '/dev/zero', /\/dev\/zero: a device; the config must be a regular file/),
  configCase('extends /dev/zero', (dir) => write(dir, 'c.json', JSON.stringify({ extends: '/dev/zero' })), /"extends" names "\/dev\/zero"; a base config is a \.json file/),
  configCase('extends a FIFO named base.json', (dir) => {
    fifo(path.join(dir, 'base.json'));
    return write(dir, 'c.json', JSON.stringify({ extends: 'base.json' }));
  }, /base\.json: a FIFO; the config must be a regular file/),
  configCase('a 2 MiB config', (dir) => write(dir, 'c.json', `{"train": {"epochs": 1}${' '.repeat(2 * MiB)}}`), /over the 1\.0 MiB limit for a config/),
  configCase('a config 100k levels deep', (dir) => write(dir, 'c.json', `{"model":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), /nested more than 32 levels deep/),
];
