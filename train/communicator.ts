/**
 * What training needs from the processes it runs in: its rank among them,
 * their number, and a few collectives over flat buffers. `--launcher none`
 * (the default) is one process, where every collective is the identity;
 * `--launcher mpi` is a rank of an MPI job (train/mpi_communicator.ts), one
 * per process started by `mpirun` or `srun`.
 */
export interface Communicator {
  readonly kind: 'none' | 'mpi';
  readonly rank: number;
  readonly size: number;
  /** Processes of this job on this machine (they share its cores). */
  readonly localSize: number;
  /** Element-wise sum over ranks, in place. */
  allreduceSum(values: Float32Array | Float64Array): void;
  /** Rank `root`'s values into every rank's array (same length everywhere). */
  broadcast(values: Float32Array | Uint8Array, root: number): void;
  /** Every rank's bytes, in rank order, on rank 0; null elsewhere. */
  gather(bytes: Uint8Array): Uint8Array[] | null;
  barrier(): void;
  /** Ends every rank of the job with `code` (after printing `message` on this one). */
  abort(code: number, message: string): never;
  /** Leaves the job cleanly; later calls do nothing. */
  finalize(): void;
}

export const LAUNCHERS = ['none', 'mpi'] as const;
export type Launcher = (typeof LAUNCHERS)[number];

/** One process: rank 0 of 1. */
export class SingleProcess implements Communicator {
  readonly kind = 'none';
  readonly rank = 0;
  readonly size = 1;
  readonly localSize = 1;
  allreduceSum(): void {}
  broadcast(): void {}
  gather(bytes: Uint8Array): Uint8Array[] {
    return [bytes];
  }
  barrier(): void {}
  abort(code: number, message: string): never {
    console.error(message);
    process.exit(code);
  }
  finalize(): void {}
}
