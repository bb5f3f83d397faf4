'use strict';
// The addon when it was built (see build.js), else an error saying what to install.
const path = require('path');
const fs = require('fs');

const file = path.join(__dirname, 'build', 'ghostdet_mpi.node');

function load() {
  if (!fs.existsSync(file)) {
    throw new Error('the MPI launcher is unavailable: @ghostdet/mpi was installed without MPI. Install Open MPI ' +
      '(Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin), then run "npm rebuild @ghostdet/mpi"');
  }
  return require(file);
}

module.exports = { load, file };
