/**
 * Our SIMD loops (simd/*.ts, AssemblyScript, built to dist/simd/*.wasm) run
 * inside the tfjs-wasm heap: the module imports tfjs-wasm's own
 * WebAssembly.Memory, so a kernel hands it tensor addresses and nothing is
 * copied. The same loops in plain JS (norm_kernels.ts, optimizer_kernels.ts)
 * ran at 6–26 ns per element; here 4 lanes at a time, compiled ahead.
 *
 * The module owns no memory of its own (no data segment, no stack, no
 * globals: the build test checks), so sharing the heap is safe. Scratch
 * space comes from tfjs-wasm's malloc. Two builds: the threaded tfjs build's
 * heap is a shared memory, the single-threaded one's is not, and a module
 * can only import the kind it was compiled for.
 *
 * Off (the JS loops run) where the build is missing (the browser bundle),
 * on the cpu backend, and with GHOSTDET_SIMD=0.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from './tf';

type TensorInfo = tf.TensorInfo;

/** The exports of simd/index.ts; pointers are byte offsets into the heap. */
export interface SimdExports {
  normMoments(x: number, rows: number, c: number, sum: number, sumSq: number): void;
  normApply(x: number, y: number, rows: number, c: number, scale: number, shift: number, relu: number): void;
  normGradSums(dy: number, x: number, rows: number, c: number, scale: number, shift: number, relu: number, s1: number, sx: number): void;
  normGradInput(dy: number, x: number, dx: number, rows: number, c: number, scale: number, shift: number, relu: number, k1: number, k2: number, k3: number): void;
  sumSquares(x: number, n: number): number;
  adamwStep(p: number, g: number, m: number, v: number, p2: number, m2: number, v2: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, decay: number, bc1: number, bc2: number, gradScale: number): void;
  /** `geometry`: see simd/depthwise.ts. */
  depthwiseFilterGrad(x: number, dy: number, dw: number, geometry: number): void;
  depthwiseInputGrad(dy: number, filter: number, dx: number, geometry: number): void;
  /** `geometry`: see simd/im2col.ts. */
  im2colT(x: number, out: number, geometry: number): void;
  /** out = a·wa + b·wb (float32); `out` may be `a`. */
  weightedSum2(a: number, b: number, out: number, n: number, wa: number, wb: number): void;
  /** dx = dy · s · (1 + x · (1 − s)), s = sigmoid(x). */
  siluGrad(dy: number, x: number, s: number, dx: number, n: number): void;
}

interface EmscriptenHeap {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}
interface WasmBackendLike {
  wasm: EmscriptenHeap;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
}

/** The kernels bound to one tfjs-wasm heap, with what a kernel needs around them. */
export interface Simd {
  k: SimdExports;
  /** Heap address of a tensor's data. */
  ptr(t: TensorInfo): number;
  /** Scratch from the heap's malloc; views made after every allocation of a kernel (a malloc can grow the heap). */
  malloc(bytes: number): number;
  free(ptr: number): void;
  f32(ptr: number, n: number): Float32Array;
  f64(ptr: number, n: number): Float64Array;
  /** Calls `fn` with the address of these int32 values in the heap (freed after). */
  withInts<T>(values: number[], fn: (ptr: number) => T): T;
}

const bound = new WeakMap<WebAssembly.Memory, Simd | null>();

function moduleFile(shared: boolean): string {
  return path.join(__dirname, '..', 'simd', shared ? 'kernels_shared.wasm' : 'kernels.wasm');
}

function bind(backend: WasmBackendLike, memory: WebAssembly.Memory): Simd | null {
  if (typeof fs.readFileSync !== 'function') return null;
  const file = moduleFile(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer);
  if (!fs.existsSync(file)) return null;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), { env: { memory } });
  const heap = backend.wasm;
  return {
    k: instance.exports as unknown as SimdExports,
    ptr: (t) => {
      const d = backend.dataIdMap.get(t.dataId);
      if (!d) throw new Error('simd kernel: tensor data is not on the wasm heap');
      return d.memoryOffset;
    },
    malloc: (bytes) => heap._malloc(bytes),
    free: (p) => heap._free(p),
    f32: (p, n) => new Float32Array(memory.buffer, p, n),
    f64: (p, n) => new Float64Array(memory.buffer, p, n),
    withInts: (values, fn) => {
      const p = heap._malloc(values.length * 4);
      try {
        new Int32Array(memory.buffer, p, values.length).set(values);
        return fn(p);
      } finally {
        heap._free(p);
      }
    },
  };
}

/** The SIMD kernels for this wasm backend, or undefined where they are off (see the file comment). */
export function simdFor(backend: tf.KernelBackend): Simd | undefined {
  if (typeof process !== 'undefined' && process.env?.GHOSTDET_SIMD === '0') return undefined;
  const b = backend as unknown as WasmBackendLike;
  const memory = b.wasm?.wasmMemory ?? b.wasm?.asm?.memory;
  if (!memory) return undefined;
  let s = bound.get(memory);
  if (s === undefined) {
    s = bind(b, memory);
    bound.set(memory, s);
  }
  return s ?? undefined;
}

/** Whether the SIMD kernels run on the current backend (describes the backend; tests assert it). */
export function simdActive(): boolean {
  return tf.getBackend() === 'wasm' && simdFor(tf.backend()) !== undefined;
}
