import { initBackend, describeBackend, BackendInfo, BackendName } from '../runtime/backend';

/** Initialises the backend a command asked for and prints the one backend line (to stderr, keeping stdout for results). */
export async function setupBackend(name: string | undefined): Promise<BackendInfo> {
  const info = await initBackend((name ?? 'auto') as BackendName);
  console.error(describeBackend(info));
  return info;
}
