/**
 * A static file server for an exported page: GET/HEAD only, the MIME types
 * the page needs (`application/wasm` for streaming compilation), index.html
 * for a folder that has one and 404 otherwise (no listings), and no way out
 * of the root: `..` segments (raw or percent-encoded) are refused, and a
 * symlink that resolves outside the root is not followed.
 *
 * Clients may be slow, abort or vanish: each file is sent with
 * `stream.pipeline`, which destroys the file stream when the response closes
 * early or either side fails, so no descriptor outlives its request. A
 * download that moves no byte for `STALL_MS` is cut (a client that stops
 * reading holds its socket and file otherwise: socket idle timeouts do not
 * fire while a write is pending), an idle keep-alive socket is closed after
 * `STALL_MS` too, and at most `MAX_CONNECTIONS` are open at once (Node closes
 * any more as soon as they connect), so descriptors stay bounded whatever the
 * clients do.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { pipeline } from 'stream';

/** Sockets open at once; each may hold one open file while it downloads. */
export const MAX_CONNECTIONS = 256;
/** A download with no progress, or a socket with no traffic, for this long is closed. */
export const STALL_MS = 30_000;

/** Cuts downloads whose socket has taken no byte for `STALL_MS`; checked every few seconds. */
type Downloads = Map<http.ServerResponse, { bytes: number; since: number }>;

function watchStalls(server: http.Server, active: Downloads): void {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [res, s] of active) {
      const bytes = res.socket?.bytesWritten ?? s.bytes;
      if (bytes !== s.bytes) Object.assign(s, { bytes, since: now });
      else if (now - s.since >= STALL_MS) res.destroy();
    }
  }, Math.min(5000, STALL_MS / 2));
  timer.unref();
  server.on('close', () => clearInterval(timer));
}

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.safetensors': 'application/octet-stream',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8',
};

function send(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(`${code} ${text}\n`);
}

/** The file a request path names inside `root`, or why it may not be served. */
export function resolveRequest(root: string, rawUrl: string): { file: string } | { code: number; why: string } {
  const pathname = rawUrl.split('?')[0].split('#')[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { code: 400, why: 'malformed path' };
  }
  if (decoded.includes('\0')) return { code: 400, why: 'malformed path' };
  if (decoded.split(/[/\\]/).includes('..')) return { code: 403, why: 'path traversal refused' };
  const file = path.resolve(root, '.' + decoded);
  if (file !== root && !file.startsWith(root + path.sep)) return { code: 403, why: 'path traversal refused' };
  return { file };
}

export function createStaticServer(rootDir: string, log: (s: string) => void = () => undefined): http.Server {
  const root = fs.realpathSync(path.resolve(rootDir));
  const downloads: Downloads = new Map();
  const server = http.createServer((req, res) => {
    const done = (code: number): void => log(`${req.method} ${req.url} ${code}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(res, 405, 'method not allowed'); return done(405); }
    const r = resolveRequest(root, req.url ?? '/');
    if ('code' in r) { send(res, r.code, r.why); return done(r.code); }
    let file = r.file;
    try {
      if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
      const real = fs.realpathSync(file);
      if (real !== root && !real.startsWith(root + path.sep)) { send(res, 403, 'outside the served folder'); return done(403); }
      const st = fs.statSync(real);
      if (!st.isFile()) throw new Error('not a file');
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(real).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': st.size,
        'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') { res.end(); return done(200); }
      downloads.set(res, { bytes: 0, since: Date.now() });
      pipeline(fs.createReadStream(real), res, (err) => {
        downloads.delete(res);
        // An aborted download is the client's choice, not the server's failure: log it and move on.
        if (err) log(`${req.method} ${req.url} aborted (${(err as NodeJS.ErrnoException).code ?? err.message})`);
      });
      done(200);
    } catch {
      send(res, 404, 'not found');
      done(404);
    }
  });
  watchStalls(server, downloads);
  server.maxConnections = MAX_CONNECTIONS;
  server.setTimeout(STALL_MS);
  // A malformed request gets a 400 and its socket is closed; it never reaches the handler or crashes the server.
  server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); else socket.destroy(); });
  return server;
}
