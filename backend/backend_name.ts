/**
 * The backends a user can name with `--backend`. Apart from `init_backend.ts`
 * so that the CLI can list them without loading TensorFlow.js.
 */
export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
