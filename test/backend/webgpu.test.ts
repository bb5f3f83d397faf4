import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SWIFTSHADER_ICD } from '../../backend/webgpu';

/**
 * The webgpu backend on whatever adapter Dawn finds: SwiftShader's software
 * Vulkan driver in CI (from Debian's chromium, with libvulkan1). Outside CI
 * the tests skip when there is none.
 */
describe('webgpu backend (Dawn in Node)', function () {
  this.timeout(600000);
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const run = (script: string): { status: number | null; out: Record<string, unknown>; stderr: string } => {
    const r = spawnSync(process.execPath, [path.join(__dirname, script)], { encoding: 'utf8', env, timeout: 540000 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let out: Record<string, unknown> = {};
    try { out = JSON.parse(line) as Record<string, unknown>; } catch { out = { error: `no result: ${r.stdout}${r.stderr}`.slice(0, 2000) }; }
    return { status: r.status, out, stderr: r.stderr };
  };

  it('RetinaNet + FPN and YOLOX + PAFPN over G-Ghost, GhostNet and VoVNet at 64² (eval mode): features, head maps and every parameter\'s gradient equal cpu\'s within 1e-4', function () {
    const r = run('webgpu_parity.js');
    if (r.status !== 0 && /no adapter/.test(String(r.out.error)) && !process.env.CI) this.skip();
    assert.equal(r.status, 0, String(r.out.error ?? r.stderr));
    assert.match(String(r.out.backend), /^backend: webgpu \(@tensorflow\/tfjs-backend-webgpu\), adapter: /);
    const errs = r.out.relErr as Record<string, number>;
    assert.equal(Object.keys(errs).length, 4);
    for (const [name, e] of Object.entries(errs)) assert.ok(e <= 1e-4, `${name}: maps' relative error ${e}`);
    const gradErrs = r.out.gradRelErr as Record<string, number>;
    assert.equal(Object.keys(gradErrs).length, 4);
    for (const [name, e] of Object.entries(gradErrs)) assert.ok(e <= 1e-4, `${name}: gradients' relative error ${e}`);
  });

  it('with no adapter, --backend webgpu fails saying what is missing', () => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'cli', 'main.js'), 'info', '--backend', 'webgpu'],
      { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /backend "webgpu" is unavailable: WebGPU found no adapter\. Dawn needs a Vulkan loader .* VK_ICD_FILENAMES \(now \/nonexistent\/icd\.json\)/);
  });
});
