import { strict as assert } from 'assert';
import { PyDict, PyObject, PyTuple, PyValue, unpickle } from '../../weights/pickle';

/**
 * `pickle.dumps(obj, protocol=p)` from CPython 3.11 for p = 0..5, where
 * obj = {'a': [1, 2.5, True, None, 'xé', b'\x00\xff'], 'b': (1 << 70, -3, -(1 << 40)),
 *        'c': OrderedDict([('k', 1)]), 7: 'int key'}.
 * Protocols 0–2 pickle bytes as `_codecs.encode(text, 'latin1')`; 0 and 1 are text/binary mixes.
 */
const DUMPS: Record<number, string> = {
  0: '286470300a56610a70310a286c70320a49310a6146322e350a614930310a614e615678e90a70330a61635f636f646563730a656e636f64650a70340a28565c7530303030ff0a70350a566c6174696e310a70360a7470370a5270380a617356620a70390a284c313138303539313632303731373431313330333432344c0a492d330a4c2d313039393531313632373737364c0a747031300a7356630a7031310a63636f6c6c656374696f6e730a4f726465726564446963740a7031320a2874527031330a566b0a7031340a49310a737349370a56696e74206b65790a7031350a732e',
  1: '7d71002858010000006171015d7102284b014740040000000000004930310a4e580300000078c3a97103635f636f646563730a656e636f64650a710428580300000000c3bf710558060000006c6174696e317106747107527108655801000000627109284c313138303539313632303731373431313330333432344c0a4afdffffff4c2d313039393531313632373737364c0a74710a580100000063710b63636f6c6c656374696f6e730a4f726465726564446963740a710c2952710d58010000006b710e4b01734b075807000000696e74206b6579710f752e',
  2: '80027d71002858010000006171015d7102284b01474004000000000000884e580300000078c3a97103635f636f646563730a656e636f64650a7104580300000000c3bf710558060000006c6174696e3171068671075271086558010000006271098a090000000000000000404afdffffff8a060000000000ff87710a580100000063710b63636f6c6c656374696f6e730a4f726465726564446963740a710c2952710d58010000006b710e4b01734b075807000000696e74206b6579710f752e',
  3: '80037d71002858010000006171015d7102284b01474004000000000000884e580300000078c3a97103430200ff71046558010000006271058a090000000000000000404afdffffff8a060000000000ff877106580100000063710763636f6c6c656374696f6e730a4f726465726564446963740a71082952710958010000006b710a4b01734b075807000000696e74206b6579710b752e',
  4: '8004957b000000000000007d94288c0161945d94284b01474004000000000000884e8c0378c3a994430200ff94658c0162948a090000000000000000404afdffffff8a060000000000ff87948c0163948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01734b078c07696e74206b657994752e',
  5: '8005957b000000000000007d94288c0161945d94284b01474004000000000000884e8c0378c3a994430200ff94658c0162948a090000000000000000404afdffffff8a060000000000ff87948c0163948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01734b078c07696e74206b657994752e',
};

/** `pickle.dumps({'x': E()}, protocol=4)` where `E.__reduce__` returns `(eval, ('1+1',))`. */
const EVIL = '80049526000000000000007d948c0178948c086275696c74696e73948c046576616c9493948c03312b319485945294732e';

const ALLOWED: Record<string, PyValue> = {
  'collections.OrderedDict': new PyObject('OrderedDict', () => new PyDict()),
  '_codecs.encode': new PyObject('encode', (a) => Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0))),
};
const findGlobal = (m: string, n: string): PyValue => {
  const v = ALLOWED[`${m}.${n}`];
  if (!v) throw new Error(`refused global ${m}.${n}`);
  return v;
};

describe('restricted unpickler', () => {
  for (const [p, hex] of Object.entries(DUMPS)) {
    it(`decodes CPython's protocol ${p}`, () => {
      const buf = Buffer.from(hex, 'hex');
      const { value, end } = unpickle(buf, { findGlobal, where: 'test' });
      assert.equal(end, buf.length);
      assert.ok(value instanceof PyDict);
      assert.deepEqual([...value.map.keys()], ['a', 'b', 'c', 7]);
      const a = value.map.get('a') as PyValue[];
      assert.deepEqual(a.slice(0, 5), [1, 2.5, true, null, 'xé']);
      assert.deepEqual([...(a[5] as Uint8Array)], [0, 255]);
      const b = value.map.get('b') as PyTuple;
      assert.ok(b instanceof PyTuple);
      assert.deepEqual(b.items, [1n << 70n, -3, -(2 ** 40)]);
      const c = value.map.get('c') as PyDict;
      assert.deepEqual([...c.map], [['k', 1]]);
      assert.equal(value.map.get(7), 'int key');
    });
  }

  it('refuses a global outside the allowlist at the GLOBAL opcode, naming it, before any REDUCE', () => {
    let called = false;
    const spy = (m: string, n: string): PyValue => {
      if (m === 'builtins' && n === 'eval') throw new Error('refused global builtins.eval');
      called = true;
      return null;
    };
    assert.throws(() => unpickle(Buffer.from(EVIL, 'hex'), { findGlobal: spy, where: 'evil.pkl' }), /evil\.pkl: refused global builtins\.eval \(pickle byte \d+\)/);
    assert.equal(called, false);
  });

  it('a truncated stream fails with the position and says so', () => {
    const buf = Buffer.from(DUMPS[2], 'hex').subarray(0, 40);
    assert.throws(() => unpickle(buf, { findGlobal, where: 'cut.pkl' }), /cut\.pkl: unexpected end of data.*truncated or corrupt/);
  });

  it('an unknown opcode is an error, not a guess', () => {
    assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x69]), { findGlobal, where: 'x' }), /opcode INST is not supported/);
  });

  it('a memo reference that was never set is an error', () => {
    assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x68, 0x05, 0x2e]), { findGlobal, where: 'x' }), /memo key 5 is not set/);
  });
});
