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
 * Each comes in a second build with relaxed SIMD (`f32x4.relaxed_madd`, a
 * fused multiply-add on CPUs with FMA), which the conv GEMMs use
 * (simd/conv_gemm.ts). Node 20's V8 has relaxed SIMD behind
 * `--experimental-wasm-relaxed-simd`, which we set at run time before the
 * first compile (V8 reads wasm feature flags per compile); where the engine
 * still refuses the module, or with GHOSTDET_RELAXED_SIMD=0, the plain build
 * runs (mul then add).
 *
 * Off (the JS loops run) where the build is missing (the browser bundle),
 * on the cpu backend, and with GHOSTDET_SIMD=0.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { tf } from './tf';
import { flag } from '../util/flags';
import { guardHeap } from './heap_limit';

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
  /** `[K, cout]` filter → `[G, ceil(cout / G / 8), K, 8]` panels (see simd/conv_gemm.ts). */
  convPackFilter(w: number, out: number, K: number, cout: number, groups: number): void;
  /** One stride phase of an input gradient as panels; `geometry`: kw, cin/G, cout, ry, rx, ty, tx, sh, sw, G. */
  convPackPhase(w: number, out: number, geometry: number): void;
  /** `geometry`: see simd/conv_gemm.ts; `zeros`: cin zero floats; `tile`: K·4 floats of scratch. */
  convForward(x: number, packed: number, y: number, geometry: number, zeros: number, tile: number): void;
  /** Needs (cin/G) % 4 = 0 and (cout/G) % 8 = 0. */
  convFilterGradPacked(x: number, dy: number, dw: number, geometry: number, scratch: number): void;
  /** Needs (cin/G) % 4 = 0 and (cout/G) % 8 = 0. */
  convFilterGrad(x: number, dy: number, dw: number, geometry: number): void;
  /** `rows` runs of `len` floats, src + r·srcStride → dst + r·dstStride (floats). */
  copyRuns(src: number, dst: number, rows: number, len: number, srcStride: number, dstStride: number): void;
  /** `[outer, inner]` → `[outer, reps, inner]`. */
  repeatRows(src: number, dst: number, outer: number, reps: number, inner: number): void;
  /** Rows of c floats → rows of c2 ≥ c floats, zero-padded. */
  padRows(src: number, dst: number, rows: number, c: number, c2: number): void;
  /** A `[3, 3, fin, fout]` filter → Winograd F(2×2, 3×3) panels (see simd/winograd.ts); `flip` for the input gradient's conv. */
  winogradPackFilter(w: number, out: number, fin: number, fout: number, flip: number): void;
  /** `geometry`: see simd/winograd.ts; `zeros`: K zero floats. */
  winogradConv(x: number, packed: number, y: number, geometry: number, zeros: number, scratch: number): void;
  /** As `winogradPackFilter`, for F(4×4, 3×3): `[36, ceil(N / 8), K, 8]` panels (see simd/winograd4.ts). */
  winograd4PackFilter(w: number, out: number, fin: number, fout: number, flip: number): void;
  /** As `winogradConv`, F(4×4, 3×3); scratch 36·chunk·(K + N8) floats. */
  winograd4Conv(x: number, packed: number, y: number, geometry: number, zeros: number, scratch: number): void;
  /** dW of a 3×3 stride-1 conv; `geometry`: see simd/winograd.ts. */
  winogradFilterGrad(x: number, dy: number, dw: number, geometry: number, zeros: number, scratch: number): void;
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
  /** The compiled module and the heap it runs on: a helper thread instantiates the same on the same memory (engine/simd_helper.ts). */
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Built with relaxed SIMD: multiply-adds are fused where the CPU can. */
  relaxed: boolean;
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

/** Bound modules per heap, plain and relaxed. */
const bound = new WeakMap<WebAssembly.Memory, Map<boolean, Simd | null>>();

function moduleFile(shared: boolean, relaxed: boolean): string {
  return path.join(__dirname, '..', 'simd', `kernels${shared ? '_shared' : ''}${relaxed ? '_relaxed' : ''}.wasm`);
}

let relaxedFlagSet = false;

/** Whether this engine compiles `bytes` (a relaxed-SIMD module), after turning the feature on in Node 20. */
function relaxedCompiles(bytes: BufferSource): boolean {
  if (WebAssembly.validate(bytes)) return true;
  if (relaxedFlagSet || typeof process === 'undefined' || !process.versions?.node) return false;
  relaxedFlagSet = true;
  if (typeof v8.setFlagsFromString !== 'function') return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

function bind(backend: WasmBackendLike, memory: WebAssembly.Memory, relaxed: boolean): Simd | null {
  if (typeof fs.readFileSync !== 'function') return null;
  const file = moduleFile(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer, relaxed);
  if (!fs.existsSync(file)) return null;
  const bytes: BufferSource = new Uint8Array(fs.readFileSync(file));
  if (relaxed && !relaxedCompiles(bytes)) return null;
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const heap = backend.wasm;
  // Unsigned addresses past 2 GiB, and a clear error where the heap is full (engine/heap_limit.ts).
  guardHeap(heap);
  return {
    k: instance.exports as unknown as SimdExports,
    module, memory,
    relaxed,
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
  if (flag('GHOSTDET_SIMD') === '0') return undefined;
  const b = backend as unknown as WasmBackendLike;
  const memory = b.wasm?.wasmMemory ?? b.wasm?.asm?.memory;
  if (!memory) return undefined;
  let forHeap = bound.get(memory);
  if (!forHeap) bound.set(memory, (forHeap = new Map()));
  const wantRelaxed = flag('GHOSTDET_RELAXED_SIMD') !== '0';
  for (const relaxed of wantRelaxed ? [true, false] : [false]) {
    let s = forHeap.get(relaxed);
    if (s === undefined) {
      s = bind(b, memory, relaxed);
      forHeap.set(relaxed, s);
    }
    if (s) return s;
  }
  return undefined;
}

/** Whether the SIMD kernels run on the current backend (describes the backend; tests assert it). */
export function simdActive(): boolean {
  return tf.getBackend() === 'wasm' && simdFor(tf.backend()) !== undefined;
}
