/**
 * The communicator a `--launcher` names. The MPI one is imported only when
 * asked for: it loads the addon, which says what to install where it is
 * missing.
 */
import { Communicator, Launcher, SingleProcess } from './communicator';

export async function startCommunicator(launcher: Launcher): Promise<Communicator> {
  if (launcher === 'none') return new SingleProcess();
  const { MpiCommunicator } = await import('./mpi_communicator');
  return MpiCommunicator.start();
}
