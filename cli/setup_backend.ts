import { initBackend, describeBackend, defaultThreads, BackendInfo, BackendName } from '../backend/init_backend';
import { releaseGpu } from '../backend/webgpu';

/** Initialises the backend a command asked for and prints the one backend line (to stderr, keeping stdout for results). */
export async function setupBackend(name: string | undefined, threads = defaultThreads(), announce = true): Promise<BackendInfo> {
  const info = await initBackend((name ?? 'auto') as BackendName, threads);
  if (info.name === 'webgpu') process.once('exit', releaseGpu);
  if (announce) console.error(describeBackend(info));
  return info;
}
