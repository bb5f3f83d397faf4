/**
 * A clear error when the wasm heap is full. tfjs-wasm grows its heap up to
 * 4 GiB (wasm32's address space) and takes each tensor's storage from the
 * heap's `malloc`, which answers 0 when it cannot, or near 4 GiB a block
 * that runs past the heap's end: tfjs checks neither, and writes the tensor
 * over address 0 or out of bounds. A request of 4 GiB or more wraps in
 * malloc's 32-bit argument and gets a few bytes. Wrapping the module's
 * `_malloc` (what tfjs and our kernels call) turns each into an error that
 * says what to change. Allocations made inside the module's own C++
 * (XNNPACK's scratch) do not pass here.
 */
interface HeapModule {
  _malloc(bytes: number): number;
  _free?(ptr: number): void;
  HEAPU8?: Uint8Array;
  wasmMemory?: WebAssembly.Memory;
}

/** The heap's size now (the module's views may lag a growth on the threaded build). */
function heapSize(module: HeapModule): number {
  return module.wasmMemory?.buffer.byteLength ?? module.HEAPU8?.byteLength ?? 0;
}

const guarded = new WeakSet<HeapModule>();

/** The message for a failed allocation of `bytes` on a heap of `heapBytes`. */
export function heapFullMessage(bytes: number, heapBytes: number): string {
  const mib = (n: number): string => `${Math.round(n / 2 ** 20).toLocaleString('en-US')} MiB`;
  return `wasm heap full: ${mib(bytes)} more did not fit in ${mib(heapBytes)} (WebAssembly's limit is 4 GiB). ` +
    'Use a smaller batch size or input size, or a GPU backend (--backend webgpu or tensorflow; see docs/backends.md)';
}

/** Makes this module's malloc answer unsigned addresses (past 2 GiB too), and throw where it cannot allocate (idempotent). */
export function guardHeap(module: HeapModule): void {
  if (guarded.has(module)) return;
  guarded.add(module);
  let malloc = module._malloc.bind(module);
  const guard = (bytes: number): number => {
    // 4 GiB or more would wrap in malloc's 32-bit argument and return a few bytes.
    if (bytes >= 2 ** 32) throw new Error(heapFullMessage(bytes, heapSize(module)));
    const p = malloc(bytes) >>> 0;
    if (p === 0 && bytes > 0) throw new Error(heapFullMessage(bytes, heapSize(module)));
    // Near 4 GiB this build's malloc can hand out a block that runs past the end of the heap.
    if (p + bytes > heapSize(module)) {
      module._free?.(p);
      throw new Error(heapFullMessage(bytes, heapSize(module)));
    }
    return p;
  };
  // Emscripten's first `_malloc` call replaces the property with the raw export: keep that inside the guard.
  Object.defineProperty(module, '_malloc', {
    configurable: true, enumerable: true,
    get: () => guard,
    set: (f: HeapModule['_malloc']) => {
      malloc = f;
    },
  });
}

interface WasmBackendLike { wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } } }

/**
 * The wasm heap's size in bytes, or undefined off wasm. The heap never
 * shrinks, so this is the most it has needed so far: the figure to hold
 * against the 4 GiB limit (tfjs's `numBytes` counts every handle on shared
 * data again, and so overstates it).
 */
export function wasmHeapBytes(backend: unknown): number | undefined {
  const w = (backend as WasmBackendLike).wasm;
  return (w?.wasmMemory ?? w?.asm?.memory)?.buffer.byteLength;
}
