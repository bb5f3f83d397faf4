import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { guardHeap } from '../../engine/heap_limit';
import { onBackend } from '../helpers';

interface HeapModule { _malloc(bytes: number): number; _free(ptr: number): void; HEAPU8: Uint8Array }

describe('wasm heap limit', () => {
  it("a malloc that answers 0, or a size past 32 bits, throws a message with the remedy", () => {
    const calls: number[] = [];
    const fake = { _malloc: (n: number): number => (calls.push(n), n > 100 ? 0 : 8), HEAPU8: new Uint8Array(3 * 2 ** 20) };
    guardHeap(fake);
    guardHeap(fake); // idempotent: one wrapper
    assert.equal(fake._malloc(16), 8);
    assert.throws(() => fake._malloc(5 * 2 ** 20), /wasm heap full: 5 MiB more did not fit in 3 MiB \(WebAssembly's limit is 4 GiB\)\. Use a smaller batch size or input size, or a GPU backend/);
    assert.throws(() => fake._malloc(2 ** 32 + 64), /wasm heap full/);
    assert.deepEqual(calls, [16, 5 * 2 ** 20], 'the 4 GiB request never reached malloc');
  });

  it('a block that runs past the end of the heap is freed and refused (what this malloc does near 4 GiB)', () => {
    const freed: number[] = [];
    const fake = { _malloc: (_bytes: number): number => 3 * 2 ** 20 - 64, _free: (p: number): void => void freed.push(p), HEAPU8: new Uint8Array(3 * 2 ** 20) };
    guardHeap(fake);
    assert.equal(fake._malloc(64), 3 * 2 ** 20 - 64, 'a block that ends at the heap end is fine');
    assert.throws(() => fake._malloc(65), /wasm heap full/);
    assert.deepEqual(freed, [3 * 2 ** 20 - 64]);
  });

  it("stays on when Emscripten's first call swaps `_malloc` for the raw export", () => {
    const raw = (n: number): number => (n > 100 ? 0 : 24);
    const lazy = { HEAPU8: new Uint8Array(2 ** 20), _malloc: (n: number): number => (lazy._malloc = raw)(n) };
    guardHeap(lazy);
    assert.equal(lazy._malloc(8), 24);
    assert.throws(() => lazy._malloc(2 ** 20), /wasm heap full/);
  });

  it('on wasm, a tensor that does not fit fails with that message, and tfjs goes on working', async () => {
    await onBackend('wasm', () => {
      const heap = (tf.backend() as unknown as { wasm: HeapModule }).wasm;
      const tensors = tf.memory().numTensors;
      // Fill the heap with blocks that are never written (never resident) until malloc refuses.
      const blocks: number[] = [];
      try {
        assert.throws(() => {
          for (;;) blocks.push(heap._malloc(256 * 2 ** 20) >>> 0);
        }, /wasm heap full: 256 MiB more did not fit in [\d,]+ MiB/);
        assert.ok(blocks.length >= 8, `${blocks.length} blocks of 256 MiB fitted`);
        assert.throws(() => tf.zeros([2 ** 28]), /wasm heap full: 1,024 MiB more did not fit/);
      } finally {
        for (const p of blocks) heap._free(p);
      }
      assert.equal(tf.memory().numTensors, tensors);
      assert.deepEqual(Array.from(tf.tidy(() => tf.add(tf.ones([3]), 1)).dataSync()), [2, 2, 2]);
    });
  });
});
