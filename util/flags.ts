/**
 * Every `GHOSTDET_*` environment switch, declared once: its meaning, its
 * values and its default. Code reads a switch through `flag(name)` and
 * nowhere else; `--help` and docs/backends.md list this table.
 *
 * Values are read from the environment at each call rather than cached
 * (tfjs's `env().registerFlag` caches its first read): tests flip a switch
 * around one call, and worker threads inherit the environment they were
 * started with. In a browser there is no environment and every switch is
 * at its default.
 */

export interface FlagSpec {
  /** What it does, one line, for `--help` and the docs. */
  help: string;
  /** The values it takes, as shown to a user. */
  values: string;
  /** Who reads it: every command, or only the tests/benchmarks. */
  scope: 'run' | 'test';
}

export const FLAGS = {
  GHOSTDET_THREADS: { help: 'XNNPACK threads on wasm (train shares them over its replicas)', values: 'a whole number ≥ 1; default: every core', scope: 'run' },
  GHOSTDET_SIMD: { help: 'our SIMD WebAssembly kernels on wasm; 0 runs their JS loops', values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_RELAXED_SIMD: { help: 'the relaxed-SIMD (fused multiply-add) build of those kernels; 0 keeps the plain one', values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_CONV_GEMM: { help: 'our conv GEMMs on wasm: 0 off, 1 on at any thread count', values: '0 | 1 (default: on at one XNNPACK thread)', scope: 'run' },
  GHOSTDET_DNNL: { help: "oneDNN's convolutions on wasm, where @ghostdet/dnnl was built (libdnnl-dev at install); 0 keeps our own kernels", values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_CONV_SPLIT: { help: 'at 2+ XNNPACK threads, our forward convs split their rows with a helper thread; 0 leaves those convs to XNNPACK', values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_WINOGRAD: { help: "Winograd for the conv GEMMs' 3×3 stride-1 convs: F(4×4, 3×3) on maps of 4096 pixels and more, F(2×2, 3×3) below; 2 uses F(2×2) everywhere, 0 turns Winograd off", values: '0 | 1 | 2 (default 1)', scope: 'run' },
  GHOSTDET_PACK_CACHE: { help: 'outside training, our conv kernels keep each packed filter between calls; 0 repacks on every call', values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_BACKWARD_RELEASE: { help: "the backward pass frees each node's saved tensors and its outputs' gradients once used; 0 keeps them to the end, as tfjs does", values: '0 | 1 (default 1)', scope: 'run' },
  GHOSTDET_TAPE_CLONES: { help: "tfjs's own tape saves (an Identity clone per saved tensor); 1 restores them", values: '0 | 1 (default 0)', scope: 'run' },
  GHOSTDET_MAX_HEADER_MB: { help: 'largest safetensors JSON header read (the safetensors library has the same cap)', values: 'MB (default 100)', scope: 'run' },
  GHOSTDET_MAX_PICKLE_MB: { help: "largest pickle (a torch.save file's data.pkl) read", values: 'MiB (default 256)', scope: 'run' },
  GHOSTDET_MAX_ZIP_RATIO: { help: 'largest compression ratio of a zip member over 1 MiB in a torch.save file (PyTorch stores members uncompressed)', values: 'a number (default 100)', scope: 'run' },
  GHOSTDET_MAX_VIEW_EXPANSION: { help: "how many times the bytes of a checkpoint's storages its tensors may expand to when views are written out as tensors (plus 64 MiB)", values: 'a number (default 4)', scope: 'run' },
  GHOSTDET_CHROMIUM: { help: 'the Chromium binary the browser test and bench:browser drive', values: 'a path; default: chromium on PATH', scope: 'test' },
  GHOSTDET_SHARED: { help: 'the folder of large reference fixtures (backbone parity weights, checkpoints, coco128)', values: 'a path; default: ../shared beside the repository', scope: 'test' },
  GHOSTDET_TEST_BACKEND: { help: 'the backend the tests start on', values: 'wasm | cpu (default wasm)', scope: 'test' },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

/** The switch's value, or undefined where it is unset or empty (or there is no environment). */
export function flag(name: FlagName): string | undefined {
  if (typeof process === 'undefined' || !process.env) return undefined;
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A numeric switch: its value, or `fallback` when unset; anything but a positive number is an error naming it. */
export function numberFlag(name: FlagName, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number (${FLAGS[name].values})`);
  return n;
}

/** The switches every command reads, as `--help` lines. */
export function flagsHelp(): string {
  return Object.entries(FLAGS).filter(([, f]) => f.scope === 'run').map(([name, f]) => `  ${name}: ${f.help} (${f.values})`).join('\n');
}
