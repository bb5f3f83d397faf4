'use strict';
// The addon when it was built (see build.js), else undefined: oneDNN is an
// optional speed-up, and callers fall back to their own kernels without it.
const path = require('path');
const fs = require('fs');

const file = path.join(__dirname, 'build', 'ghostdet_dnnl.node');

/** The addon, or undefined where it was not built. A built addon that fails to load is an error (a broken install). */
function load() {
  if (!fs.existsSync(file)) return undefined;
  return require(file);
}

const missing = 'oneDNN convolutions are unavailable: @ghostdet/dnnl was installed without oneDNN. Install it ' +
  '(Debian/Ubuntu: apt-get install libdnnl-dev), then run "npm rebuild @ghostdet/dnnl"';

module.exports = { load, file, missing };
