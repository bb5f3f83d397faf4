// Builds the addon with Open MPI's compiler wrapper where MPI is installed
// (`mpicc`, from libopenmpi-dev), against the running Node's N-API header.
// Without MPI it prints how to get it and succeeds: `npm ci` must pass on
// machines that never train across processes. Runs at install; rerun with
// `npm rebuild @ghostdet/mpi` after installing MPI.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, 'build', 'ghostdet_mpi.node');
const say = (m) => console.log(`@ghostdet/mpi: ${m}`);

function mpicc() {
  const cc = process.env.MPICC || 'mpicc';
  return spawnSync(cc, ['--showme:version'], { stdio: 'ignore' }).status === 0 ? cc : undefined;
}

function nodeHeaders() {
  const candidates = [
    process.env.GHOSTDET_NODE_HEADERS,
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

const cc = mpicc();
if (!cc) {
  say('MPI not found (no mpicc): the MPI launcher is unavailable. To train across processes, install Open MPI ' +
    '(Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin) and run "npm rebuild @ghostdet/mpi".');
  process.exit(0);
}
const headers = nodeHeaders();
if (!headers) {
  say(`node_api.h not found beside ${process.execPath}: set GHOSTDET_NODE_HEADERS to the folder holding it, then "npm rebuild @ghostdet/mpi"`);
  process.exit(0);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
try {
  execFileSync(cc, ['-O2', '-shared', '-fPIC', '-Wall', `-I${headers}`, path.join(__dirname, 'src', 'ghostdet_mpi.c'), '-o', out], { stdio: 'inherit' });
  say(`built ${path.relative(process.cwd(), out)} with ${cc}`);
} catch (e) {
  say(`building with ${cc} failed (${e.message}); the MPI launcher is unavailable`);
  process.exit(0);
}
