/**
 * The import graph of the sources, checked against the layers that
 * docs/ARCHITECTURE.md draws: no import circles between files, and no import
 * from a folder to one at its own layer or above it.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Bottom to top: a folder may import its own files and folders of lower layers only. */
export const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['weights', 'engine'],
  ['kernels'],
  ['backend'],
  ['nn', 'ops', 'data'],
  ['backbones'],
  ['necks', 'heads'],
  ['detectors'],
  ['configs'],
  ['eval', 'onnx'],
  ['train', 'web'],
  ['cli'],
  ['bench'],
  ['.'], // index.ts, the package's entry point
  ['test'],
];

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'work_dirs', 'simd', 'fixtures'].includes(e.name) || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(path.relative(ROOT, p));
  }
  return out;
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|require\(\s*['"](\.[^'"]+)['"]\s*\)|^import\s+['"](\.[^'"]+)['"]/gm;

/** File → the files it imports (relative imports only; `import type` included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of sources(ROOT)) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      const base = path.normalize(path.join(path.dirname(f), spec));
      const file = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(path.join(ROOT, c)));
      if (file) deps.push(file);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index++); stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do { w = stack.pop()!; on.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc);
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const folderOf = (f: string): string => (f.includes(path.sep) ? f.split(path.sep)[0] : '.');
const layerOf = (folder: string): number => LAYERS.findIndex((l) => l.includes(folder));

describe('architecture: the import graph', () => {
  const graph = importGraph();

  it('reads every source folder, and each is in a layer', () => {
    assert.ok(graph.size > 200, `only ${graph.size} files found`);
    const unplaced = [...new Set([...graph.keys()].map(folderOf))].filter((d) => layerOf(d) < 0);
    assert.deepEqual(unplaced, [], 'folders missing from LAYERS (and from docs/ARCHITECTURE.md)');
  });

  it('has no import circles', () => {
    assert.deepEqual(circles(graph).map((c) => c.join(' → ')), []);
  });

  it('imports run down the layers only', () => {
    const up: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        const a = folderOf(f), b = folderOf(d);
        if (a !== b && layerOf(b) >= layerOf(a)) up.push(`${f} → ${d}`);
      }
    }
    assert.deepEqual(up, []);
  });

  it('the weight readers and the utilities import no TensorFlow.js', () => {
    const tfjs = [...graph.keys()].filter((f) => ['weights', 'util'].includes(folderOf(f)) && /from '@tensorflow\//.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    assert.deepEqual(tfjs, []);
  });

  it('finds a circle and an upward import where there is one (the check can fail)', () => {
    const g = new Map([['nn/a.ts', ['nn/b.ts']], ['nn/b.ts', ['nn/a.ts', 'train/c.ts']], ['train/c.ts', []]]);
    assert.deepEqual(circles(g).map((c) => c.sort()), [['nn/a.ts', 'nn/b.ts']]);
    assert.ok(layerOf('train') > layerOf('nn'));
  });
});
