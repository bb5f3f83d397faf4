/**
 * Build step (`npm run build`): bundles the page (web/page.ts and the model
 * code it imports: backbones, necks, heads, detectors, ops, nn, the
 * transforms) with esbuild into dist/web/static/app.js beside index.html.
 * Node built-ins that shared modules import for their file-reading halves are
 * empty in the page: the page never calls those halves.
 */
import * as fs from 'fs';
import * as path from 'path';
import { build, Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
export const STATIC_DIR = path.join(ROOT, 'dist', 'web', 'static');
const NODE_ONLY = /^((node:)?(fs|path|os|worker_threads|child_process|crypto|zlib|stream|util|url|http|net|v8)|@ghostdet\/(dnnl|mpi))$/;

const emptyNodeBuiltins: Plugin = {
  name: 'empty-node-builtins',
  setup(b) {
    b.onResolve({ filter: NODE_ONLY }, (a) => ({ path: a.path, namespace: 'node-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

async function main(): Promise<void> {
  fs.mkdirSync(STATIC_DIR, { recursive: true });
  const r = await build({
    entryPoints: [path.join(ROOT, 'web', 'page.ts')],
    bundle: true, minify: true, sourcemap: false, format: 'iife', platform: 'browser', target: 'es2020',
    outfile: path.join(STATIC_DIR, 'app.js'), plugins: [emptyNodeBuiltins], logLevel: 'warning', metafile: true,
    // tfjs probes `process` and `require` guardedly; these keep the probes false in the page.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  fs.copyFileSync(path.join(ROOT, 'web', 'index.html'), path.join(STATIC_DIR, 'index.html'));
  const bytes = Object.values(r.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
  console.log(`web page bundled: ${path.relative(ROOT, STATIC_DIR)}/app.js (${(bytes / 2 ** 20).toFixed(1)} MB)`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
