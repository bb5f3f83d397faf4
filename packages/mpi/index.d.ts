/** The MPI calls of ghostdet's `--launcher mpi` (src/ghostdet_mpi.c). */
export interface MpiAddon {
  init(): { rank: number; size: number; threadLevel: number };
  allreduceSum(values: Float32Array | Float64Array): void;
  broadcast(values: ArrayBufferView, root: number): void;
  gatherBytes(bytes: Uint8Array, root: number): Uint8Array[] | null;
  barrier(): void;
  abort(code: number): void;
  finalize(): void;
  version(): string;
}
/** The built addon; throws saying what to install where it was not built. */
export function load(): MpiAddon;
export const file: string;
