import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSafetensorsBytes, StoredTensor } from '../../weights/safetensors';
import { readWeights } from '../../weights/weights_file';
import { readTorchCheckpoint } from '../../weights/torch_checkpoint';
import { unzipSync, zipSync } from 'fflate';
import { needFixture } from '../helpers';


function expected(file: string): Map<string, StoredTensor> {
  return parseSafetensorsBytes(fs.readFileSync(file), file).tensors;
}

/** Every expected tensor is present with the same dtype, shape and bytes. */
function assertSameTensors(got: Map<string, StoredTensor>, want: Map<string, StoredTensor>): void {
  for (const [name, w] of want) {
    const g = got.get(name);
    assert.ok(g, `missing ${name}`);
    assert.equal(g.dtype, w.dtype, `${name} dtype`);
    assert.deepEqual(g.shape, w.shape, `${name} shape`);
    assert.ok(Buffer.from(g.bytes).equals(Buffer.from(w.bytes)), `${name}: bytes differ`);
  }
}

describe('PyTorch checkpoints: every shared fixture reads bit for bit', () => {
  it('zip format, views: offsets, strides, shared storage, f64/i32/u8/bool/bf16 and an empty tensor', function () {
    const w = readWeights(needFixture(this, 'fixtures/checkpoints/views.pt'));
    assert.equal(w.format, 'torch-zip');
    const want = expected(needFixture(this, 'fixtures/checkpoints/views.safetensors'));
    assertSameTensors(w.tensors, want);
    assert.equal(w.tensors.size, want.size);
    assert.deepEqual(w.tensors.get('empty')!.shape, [0, 4]);
    // shared_a and shared_b are views of one storage, read once.
    const ck = readTorchCheckpoint(needFixture(this, 'fixtures/checkpoints/views.pt'));
    assert.ok(ck.storages < w.tensors.size, `${ck.storages} storages for ${w.tensors.size} tensors`);
  });

  it('zip format, float16 timm-style pytorch_model.bin', function () {
    const w = readWeights(needFixture(this, 'fixtures/checkpoints/ese_vovnet19b_slim_fp16.bin'));
    const want = expected(needFixture(this, 'fixtures/checkpoints/ese_vovnet19b_slim_fp16.safetensors'));
    assert.equal(w.tensors.size, want.size);
    assertSameTensors(w.tensors, want);
    assert.ok([...w.tensors.values()].every((t) => t.dtype === 'F16'));
  });

  it('zip format training checkpoint: state_dict found under its key, DataParallel "module." stripped', function () {
    const w = readWeights(needFixture(this, 'fixtures/checkpoints/ghostnet_050_dataparallel.pth.tar'));
    assert.equal(w.key, 'state_dict');
    assert.ok(w.notes.some((n) => n.includes('module.')));
    assert.deepEqual(w.leftOut.map((s) => s.split(' ')[0]).sort(), ['arch', 'best_acc1', 'epoch']);
    const want = expected(needFixture(this, 'fixtures/backbones/ghostnet_050/weights.safetensors'));
    assert.equal(w.tensors.size, want.size);
    assertSameTensors(w.tensors, want);
  });

  it('legacy (pre-1.6) format: float tensors as the reference, num_batches_tracked as int64 scalars', function () {
    const w = readWeights(needFixture(this, 'fixtures/checkpoints/ghostnet_050_legacy.pth'));
    assert.equal(w.format, 'torch-legacy');
    const want = expected(needFixture(this, 'fixtures/backbones/ghostnet_050/weights.safetensors'));
    assertSameTensors(w.tensors, want);
    const counters = [...w.tensors].filter(([k]) => k.endsWith('num_batches_tracked'));
    assert.equal(counters.length + want.size, w.tensors.size);
    assert.ok(counters.length > 0);
    for (const [k, t] of counters) {
      assert.equal(t.dtype, 'I64', k);
      assert.deepEqual(t.shape, [], k);
    }
  });

  it('an explicit --key that is absent or not a state_dict is refused with what the file holds', function () {
    assert.throws(() => readWeights(needFixture(this, 'fixtures/checkpoints/ghostnet_050_dataparallel.pth.tar'), { key: 'ema' }), /no key "ema" in the checkpoint; it holds: epoch \(number\), arch \(string\), state_dict \(dict of 432\)/);
    assert.throws(() => readWeights(needFixture(this, 'fixtures/checkpoints/ghostnet_050_dataparallel.pth.tar'), { key: 'arch' }), /"arch" is not a dict of tensors/);
  });
});

describe('PyTorch checkpoints: unsafe and broken files', () => {
  const pwned = '/tmp/ghostdet-checkpoint-pwned';

  it('a pickle that calls posix.system is refused by name, and nothing runs', function () {
    fs.rmSync(pwned, { force: true });
    const file = needFixture(this, 'fixtures/checkpoints/refused_os_system.pth');
    assert.throws(() => readWeights(file), (e: Error) => {
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, /refused to load: the pickle names the global "posix\.system"/);
      assert.match(e.message, /nothing was executed/);
      return true;
    });
    assert.equal(fs.existsSync(pwned), false);
  });

  it('a truncated zip checkpoint fails with the file name and the reason', function () {
    const file = needFixture(this, 'fixtures/checkpoints/truncated.pth');
    assert.throws(() => readWeights(file), (e: Error) => e.message.startsWith(file) && /truncated or corrupt/.test(e.message));
  });

  describe('made here from the fixtures', () => {
    let tmp: string;
    before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-ckpt-')); });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const cut = (ctx: Mocha.Context, src: string, name: string, keep: (n: number) => number): string => {
      const b = fs.readFileSync(needFixture(ctx, `fixtures/checkpoints/${src}`));
      const out = path.join(tmp, name);
      fs.writeFileSync(out, b.subarray(0, keep(b.length)));
      return out;
    };

    it('a legacy file cut inside its pickle, and one cut inside its storages', function () {
      const inPickle = cut(this, 'ghostnet_050_legacy.pth', 'cut_pickle.pth', () => 5000);
      assert.throws(() => readWeights(inPickle), (e: Error) => e.message.startsWith(inPickle) && /unexpected end of data/.test(e.message));
      const inData = cut(this, 'ghostnet_050_legacy.pth', 'cut_data.pth', (n) => n - 1000);
      assert.throws(() => readWeights(inData), (e: Error) => e.message.startsWith(inData) && /truncated: storage "\d+" needs \d+ bytes/.test(e.message));
    });

    it('numpy scalars beside the state_dict (an epoch, a best metric) are read as numbers', function () {
      // CPython 3.11 + numpy 2.4 pickle (protocol 2) of {'epoch': np.int64(12), 'best_acc1': np.float64(0.625),
      // 'state_dict': OrderedDict(w=<a 2×2 float tensor on storage "0">)}, written with stand-in torch modules.
      const pkl = Buffer.from('80027d710028580500000065706f63687101636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7102636e756d70790a64747970650a71035802000000693871048988877105527106284b0358010000003c71074e4e4e4affffffff4affffffff4b0074710862635f636f646563730a656e636f64650a710958080000000c00000000000000710a58060000006c6174696e31710b86710c52710d86710e52710f5809000000626573745f616363317110680268035802000000663871118988877112527113284b0368074e4e4e4affffffff4affffffff4b007471146268095809000000000000000000c3a43f7115680b867116527117867118527119580a00000073746174655f64696374711a63636f6c6c656374696f6e730a4f726465726564446963740a711b2952711c580100000077711d63746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a711e2828580700000073746f72616765711f63746f7263680a466c6f617453746f726167650a71205801000000307121580300000063707571224b04747123514b004b024b028671244b024b0186712589681b2952712674712752712873752e', 'hex');
      const file = path.join(tmp, 'numpy_meta.pth');
      fs.writeFileSync(file, zipSync({ 'numpy_meta/data.pkl': pkl, 'numpy_meta/data/0': new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer) }, { level: 0 }));
      const w = readWeights(file);
      assert.deepEqual(w.leftOut, ['epoch (number)', 'best_acc1 (number)']);
      const t = w.tensors.get('w')!;
      assert.deepEqual(t.shape, [2, 2]);
      assert.deepEqual([...new Float32Array(t.bytes.slice().buffer)], [1, 2, 3, 4]);
      const ck = readTorchCheckpoint(file);
      const root = ck.root as unknown as { map: Map<string, unknown> };
      assert.equal(root.map.get('epoch'), 12);
      assert.equal(root.map.get('best_acc1'), 0.625);
    });

    it('a zip whose data.pkl is corrupt, an empty file, and a file that is no checkpoint', function () {
      const b = Buffer.from(fs.readFileSync(needFixture(this, 'fixtures/checkpoints/views.pt')));
      // Overwrite the pickle's first opcodes (stored uncompressed after the local header) with an unknown opcode:
      // the member's CRC-32 no longer matches.
      const at = b.indexOf(Buffer.from([0x80, 0x02, 0x63]));
      assert.ok(at > 0);
      b[at + 2] = 0xff;
      const flipped = path.join(tmp, 'flipped_pickle.pt');
      fs.writeFileSync(flipped, b);
      assert.throws(() => readWeights(flipped), (e: Error) => e.message.startsWith(flipped) && /data\.pkl.*CRC-32 mismatch/.test(e.message));
      // The same bytes zipped again with a matching CRC reach the unpickler, which refuses the opcode.
      const members = unzipSync(new Uint8Array(b));
      const bad = path.join(tmp, 'bad_pickle.pt');
      fs.writeFileSync(bad, zipSync(members, { level: 0 }));
      assert.throws(() => readWeights(bad), (e: Error) => e.message.startsWith(bad) && /opcode 0xff is not supported/.test(e.message));
      const empty = path.join(tmp, 'empty.pth');
      fs.writeFileSync(empty, '');
      assert.throws(() => readWeights(empty), /empty\.pth: not a weights file/);
      const text = path.join(tmp, 'notes.bin');
      fs.writeFileSync(text, 'hello, these are not weights\n');
      assert.throws(() => readWeights(text), /notes\.bin: not a weights file/);
      assert.throws(() => readWeights(path.join(tmp, 'absent.pth')), /absent\.pth: no such file/);
    });
  });
});
