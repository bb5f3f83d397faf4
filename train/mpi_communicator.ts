/**
 * A rank of an MPI job, through the `@ghostdet/mpi` addon (Open MPI;
 * packages/mpi). MPI is initialised once per process, and `MPI_Finalize`
 * runs on every exit path (a rank that exits without it fails the job).
 */
import type { MpiAddon } from '@ghostdet/mpi';
import type { Communicator } from './communicator';

export class MpiCommunicator implements Communicator {
  readonly kind = 'mpi';
  private finalized = false;

  private constructor(private readonly mpi: MpiAddon, readonly rank: number, readonly size: number, readonly localSize: number) {}

  static start(): MpiCommunicator {
    const { load } = require('@ghostdet/mpi') as typeof import('@ghostdet/mpi');
    const mpi = load();
    const { rank, size } = mpi.init();
    // Open MPI and PMIx (srun --mpi=pmix) say how many ranks share this machine.
    const local = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? process.env.PMIX_LOCAL_SIZE ?? process.env.SLURM_NTASKS_PER_NODE ?? 1);
    const c = new MpiCommunicator(mpi, rank, size, Number.isInteger(local) && local > 0 ? local : 1);
    process.once('exit', () => c.finalize());
    return c;
  }

  allreduceSum(values: Float32Array | Float64Array): void {
    this.mpi.allreduceSum(values);
  }

  broadcast(values: Float32Array | Uint8Array, root: number): void {
    this.mpi.broadcast(values, root);
  }

  gather(bytes: Uint8Array): Uint8Array[] | null {
    return this.mpi.gatherBytes(bytes, 0);
  }

  barrier(): void {
    this.mpi.barrier();
  }

  abort(code: number, message: string): never {
    console.error(`rank ${this.rank}/${this.size}: ${message}`);
    this.mpi.abort(code);
    process.exit(code); // MPI_Abort does not return; this is for the type checker
  }

  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    this.mpi.finalize();
  }
}
