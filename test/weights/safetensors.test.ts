import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { parseSafetensors, serializeSafetensors, RawTensor } from '../../weights/safetensors';
import { loadStateDict, moduleStateDict } from '../../nn/state_dict';
import { writeFileAtomic } from '../../util/atomic_write';
import { Conv2d } from '../../nn/conv2d';
import { Sequential } from '../../nn/sequential';
import { BatchNorm2d } from '../../nn/batchnorm';
import { needFixture } from '../helpers';

describe('safetensors', () => {
  it('round-trips F32 and I64 with metadata', function () {
    const m = new Map<string, RawTensor>([
      ['a', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
      ['n', { dtype: 'I64', shape: [1], data: BigInt64Array.from([7n]) }],
    ]);
    const f = parseSafetensors(serializeSafetensors(m, { format: 'pt' }));
    assert.deepEqual(Array.from(f.tensors.get('a')!.data as Float32Array), [1, 2, 3, 4, 5, 6.5]);
    assert.equal((f.tensors.get('n')!.data as BigInt64Array)[0], 7n);
    assert.equal(f.metadata.format, 'pt');
  });

  it('reads F16', function () {
    // 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800
    const hdr = JSON.stringify({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } });
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hdr.length));
    const data = Buffer.alloc(6); data.writeUInt16LE(0x3c00, 0); data.writeUInt16LE(0xc000, 2); data.writeUInt16LE(0x3800, 4);
    const f = parseSafetensors(Buffer.concat([len, Buffer.from(hdr), data]));
    assert.deepEqual(Array.from(f.tensors.get('h')!.data as Float32Array), [1, -2, 0.5]);
  });

  it('reads the shared reference weights (PyTorch layout) into a conv by name', function () {
    const f = parseSafetensors(fs.readFileSync(needFixture(this, 'fixtures/backbones/ghostnet_050/weights.safetensors')));
    const stem = f.tensors.get('conv_stem.weight')!;
    assert.deepEqual(stem.shape, [8, 3, 3, 3]);
  });

  it('converts OIHW, depthwise and linear layouts both ways and reports missing/unexpected keys', async function () {
    const net = new Sequential([
      new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
      new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, groups: 3 }),
      new BatchNorm2d(6),
    ]);
    const sd = await moduleStateDict(net);
    assert.deepEqual(sd.get('0.weight')!.shape, [3, 2, 3, 3]);
    assert.deepEqual(sd.get('1.weight')!.shape, [6, 1, 3, 3]);
    // OIHW element [o=1, i=0, h=2, w=1] is HWIO [2, 1, 0, 1].
    const ours = net.layers[0] as Conv2d;
    const hwio = ours.weight.arraySync() as number[][][][];
    assert.equal((sd.get('0.weight')!.data as Float32Array)[1 * 18 + 0 * 9 + 2 * 3 + 1], hwio[2][1][0][1]);
    // depthwise torch channel c·m + j ↔ ours [.., c, j]: channel 3 = c 1, j 1.
    const dw = (net.layers[1] as Conv2d).weight.arraySync() as number[][][][];
    assert.equal((sd.get('1.weight')!.data as Float32Array)[3 * 9 + 0 * 3 + 2], dw[0][2][1][1]);
    const copy = new Sequential([
      new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
      new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, groups: 3 }),
      new BatchNorm2d(6),
    ]);
    sd.set('extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    sd.delete('2.running_var');
    const report = loadStateDict(copy, sd);
    assert.deepEqual(report, { missing: ['2.running_var'], unexpected: ['extra'] });
    assert.throws(() => loadStateDict(copy, sd, { strict: true }), /missing keys \(1\): 2.running_var[\s\S]*unexpected keys \(1\): extra/);
    assert.deepEqual((copy.layers[1] as Conv2d).weight.arraySync(), dw);
    const bad = new Map(sd);
    bad.set('0.weight', { dtype: 'F32', shape: [3, 2, 1, 1], data: new Float32Array(6) });
    assert.throws(() => loadStateDict(copy, bad), /0\.weight: checkpoint \[3,2,1,1\], model \[3,2,3,3\]/);
    tf.dispose([]);
  });

  it('writeFileAtomic leaves no temp file and replaces the old content', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-'));
    const f = path.join(dir, 'x.bin');
    writeFileAtomic(f, 'old');
    writeFileAtomic(f, 'new');
    assert.equal(fs.readFileSync(f, 'utf8'), 'new');
    assert.deepEqual(fs.readdirSync(dir), ['x.bin']);
  });
});
