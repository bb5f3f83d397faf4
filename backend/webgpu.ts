/**
 * WebGPU under Node: Dawn's binding (the `webgpu` package, its native binary
 * inside the package) provides `navigator.gpu`, and tfjs's webgpu backend
 * runs on it. Dawn reaches the GPU through Vulkan on Linux (Metal on macOS,
 * D3D12 on Windows), so no CUDA toolkit is involved.
 */
import * as fs from 'fs';
import { tf } from '../engine/tf';

/** The adapter a webgpu backend runs on, for the backend line. */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (SwiftShader, llvmpipe, WARP): used only when asked for by name. */
  software: boolean;
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike { requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null> }
interface WebGpuModule { create(flags: string[]): GpuLike; globals: Record<string, unknown> }

/** Debian's Chromium ships SwiftShader's Vulkan driver here: a software GPU for tests. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// `webgpu` is an ES module; TypeScript's CommonJS output would turn `import()`
// into `require()`, which Node 20 cannot use on an ES module.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function navigatorGpu(): GpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
}

/** Puts Dawn's `navigator.gpu` and the WebGPU constants on the global object (once). */
async function installDawn(): Promise<GpuLike> {
  const present = navigatorGpu();
  if (present) return present;
  const { create, globals } = (await importEsm('webgpu')) as WebGpuModule;
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

function noAdapterMessage(): string {
  const icd = process.env.VK_ICD_FILENAMES;
  const software = fs.existsSync(SWIFTSHADER_ICD)
    ? `set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`
    : `install Debian's chromium and set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;
  return 'WebGPU found no adapter. Dawn needs a Vulkan loader (Debian: apt-get install libvulkan1) and a Vulkan driver: ' +
    "your GPU vendor's (check with vulkaninfo), or an ICD json named by VK_ICD_FILENAMES" +
    `${icd ? ` (now ${icd})` : ''}. For SwiftShader's software GPU (slow; for tests), ${software}.`;
}

/**
 * Whether a Vulkan driver could be there (Linux): `auto` probes WebGPU only
 * then, since Dawn prints a warning on every start where there is none.
 */
export function vulkanDriverDeclared(): boolean {
  if (process.platform !== 'linux') return true;
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return true;
  return ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']
    .some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith('.json')));
}

/** The adapter Dawn offers, or throws a message that says what is missing. */
export async function findGpuAdapter(): Promise<GpuAdapter> {
  let gpu: GpuLike;
  try {
    gpu = await installDawn();
  } catch (e) {
    throw new Error(`the webgpu package does not load (${(e as Error).message.split('\n')[0]}); reinstall with npm ci`);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(noAdapterMessage());
  const i = adapter.info ?? {};
  const text = `${i.vendor ?? ''} ${i.architecture ?? ''} ${i.description ?? ''}`;
  return {
    vendor: i.vendor || 'unknown vendor',
    architecture: i.architecture || 'unknown architecture',
    description: i.description || i.device || '',
    software: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(text),
  };
}

/** Loads tfjs's webgpu backend (it registers itself only where `navigator.gpu` exists, so after `findGpuAdapter`). */
export function loadTfjsWebGpu(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-webgpu');
}

/** `vendor architecture (description)`, with the software mark. */
export function describeAdapter(a: GpuAdapter): string {
  return `${a.vendor} ${a.architecture}${a.description ? ` (${a.description})` : ''}${a.software ? ', software adapter: no GPU' : ''}`;
}

interface DeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  onuncapturederror: ((e: { error?: { message?: string; constructor?: { name?: string } } }) => void) | null;
}

let fault: string | undefined;
let lost: Promise<unknown> | undefined;

/**
 * Watches the webgpu backend's device: its loss (driver reset, another
 * process, `destroy`) and out-of-memory errors, which WebGPU reports
 * asynchronously instead of throwing where they happen. `gpuFault` then says
 * what happened, and the trainer stops with it.
 */
export function watchGpuDevice(backend: unknown): void {
  const device = (backend as { device?: DeviceLike }).device;
  if (!device) return;
  fault = undefined;
  lost = device.lost.then((info) => {
    fault ??= `the GPU device was lost (${info.reason ?? 'unknown reason'}${info.message ? `: ${info.message}` : ''})`;
  });
  device.onuncapturederror = (e): void => {
    const err = e.error;
    const text = err?.message ?? 'unknown error';
    if (err?.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(text)) fault ??= `out of GPU memory (${text})`;
    else process.stderr.write(`webgpu: ${text}\n`);
  };
}

/** What went wrong on the GPU device since `watchGpuDevice`, if anything. */
export function gpuFault(): string | undefined {
  return fault;
}

/**
 * The same, after an operation failed: a lost device may fail a read before
 * its `lost` promise settles, so this waits for it, briefly.
 */
export async function gpuFaultAfterError(waitMs = 2000): Promise<string | undefined> {
  if (fault || !lost) return fault;
  await Promise.race([lost, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  return fault;
}

/**
 * Releases tfjs's webgpu backend and destroys its device, for the moment
 * before the process exits: left to process teardown, Dawn's device could
 * crash the exit (seen with SwiftShader after long runs). Synchronous, so an
 * `exit` handler can call it; does nothing where webgpu is not started.
 */
export function releaseGpu(): void {
  const backend = tf.findBackend('webgpu') as unknown as { device?: { destroy(): void } } | null;
  if (!backend?.device) return;
  const device = backend.device;
  try {
    tf.removeBackend('webgpu');
  } finally {
    device.destroy();
  }
}
