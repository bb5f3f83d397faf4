// Builds the addon against oneDNN where it is installed (dnnl.hpp and
// libdnnl, from Debian's libdnnl-dev) and the running Node's N-API header.
// Without oneDNN it says so and succeeds: ghostdet's own wasm kernels run
// instead. Runs at install; rerun with `npm rebuild @ghostdet/dnnl` after
// installing oneDNN.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, 'build', 'ghostdet_dnnl.node');
const say = (m) => console.log(`@ghostdet/dnnl: ${m}`);

function nodeHeaders() {
  const candidates = [
    process.env.GHOSTDET_NODE_HEADERS,
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function dnnlHeader() {
  const dirs = [process.env.DNNL_INCLUDE, '/usr/include', '/usr/local/include'].filter(Boolean);
  return dirs.find((d) => fs.existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
}

fs.rmSync(out, { force: true });
const include = dnnlHeader();
if (!include) {
  say('oneDNN not found (no oneapi/dnnl/dnnl.hpp): convolutions run on ghostdet\'s wasm kernels. For oneDNN\'s, ' +
    'install it (Debian/Ubuntu: apt-get install libdnnl-dev) and run "npm rebuild @ghostdet/dnnl".');
  process.exit(0);
}
const headers = nodeHeaders();
if (!headers) {
  say(`node_api.h not found beside ${process.execPath}: set GHOSTDET_NODE_HEADERS to the folder holding it, then "npm rebuild @ghostdet/dnnl"`);
  process.exit(0);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
const cxx = process.env.CXX || 'g++';
const lib = process.env.DNNL_LIB ? [`-L${process.env.DNNL_LIB}`, `-Wl,-rpath,${process.env.DNNL_LIB}`] : [];
try {
  execFileSync(cxx, ['-O2', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-Wall', `-I${headers}`, `-I${include}`,
    path.join(__dirname, 'src', 'ghostdet_dnnl.cc'), '-o', out, ...lib, '-ldnnl'], { stdio: 'inherit' });
  say(`built ${path.relative(process.cwd(), out)} with ${cxx}`);
} catch (e) {
  fs.rmSync(out, { force: true });
  say(`building with ${cxx} failed (${e.message}); convolutions run on ghostdet's wasm kernels`);
  process.exit(0);
}
