/** `ghostdet serve DIR`: serves an exported page on 127.0.0.1 (another host only when named). */
import * as fs from 'fs';
import * as path from 'path';
import { createStaticServer } from '../web/static_server';

export async function runServe(a: { dir: string; port: number; host: string; quiet: boolean }): Promise<void> {
  if (!fs.existsSync(path.join(a.dir, 'index.html'))) throw new Error(`${a.dir}: no index.html (make the folder with "ghostdet export")`);
  const server = createStaticServer(a.dir, a.quiet ? undefined : (s) => console.error(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new Error(`port ${a.port} on ${a.host} is in use: pick another with --port`) : e));
    server.listen(a.port, a.host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : a.port;
  console.log(`serving ${path.resolve(a.dir)} at http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${port}/ (Ctrl-C to stop)`);
}
