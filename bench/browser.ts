/**
 * `npm run bench:browser -- --config C --checkpoint CKPT [--images a.png …] [--screenshot out.png]`:
 * exports the checkpoint, serves it, and times `detectImage` in headless
 * Chromium on wasm and webgl (SwiftShader here: no GPU), after 3 warm-up
 * runs, per image (decode excluded). Writes bench/results/browser.json; with
 * --screenshot, saves the page showing the first images (README's picture).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import yargs from 'yargs';
import { runExport } from '../cli/export';
import { createStaticServer } from '../web/static_server';
import { launchChromium } from '../web/headless_chromium';
import { writeResults } from './report';

async function main(): Promise<void> {
  const a = yargs(process.argv.slice(2))
    .option('config', { type: 'string', demandOption: true })
    .option('checkpoint', { type: 'string', demandOption: true })
    .option('images', { type: 'string', array: true, demandOption: true })
    .option('iters', { type: 'number', default: 10 })
    .option('screenshot', { type: 'string' })
    .parseSync();
  const site = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-bench-web-')), 'site');
  await runExport({ backend: 'wasm', config: a.config, checkpoint: a.checkpoint, out: site, score: 0.3 });
  const server = createStaticServer(site);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launchChromium();
  const rows: Record<string, unknown> = {};
  try {
    for (const backend of ['wasm', 'webgl']) {
      const page = await browser.newPage();
      await page.goto(`${base}?backend=${backend}`);
      await page.waitForFunction('window.ghostdet || window.ghostdetError', { timeout: 120000 });
      const b64 = fs.readFileSync(a.images[0]).toString('base64');
      const times: number[] = [];
      for (let i = 0; i < 3 + a.iters; i++) {
        const r = await page.evaluate((s: string) => window.ghostdet!.detect(s, 'bench'), b64);
        if (i >= 3) times.push(r.ms);
      }
      times.sort((x, y) => x - y);
      const median = times[times.length >> 1];
      rows[backend] = { backendLine: await page.evaluate(() => window.ghostdet!.backend), medianMs: +median.toFixed(1), fps: +(1000 / median).toFixed(1) };
      console.log(`${backend}: ${median.toFixed(1)} ms/image (${(1000 / median).toFixed(1)} FPS)`);
      if (backend === 'wasm' && a.screenshot) {
        await page.setViewport({ width: 1100, height: 520 });
        await (await page.$('input#files'))!.uploadFile(...a.images);
        await page.waitForFunction((n: number) => document.querySelectorAll('figure .svg svg').length === n, {}, a.images.length);
        await page.screenshot({ path: a.screenshot });
        console.log(`screenshot: ${a.screenshot}`);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  const results = { checkpoint: path.basename(a.checkpoint), config: path.basename(a.config), image: path.basename(a.images[0]), browser: 'headless Chromium (Debian), puppeteer-core', ...rows };
  console.log(`wrote ${writeResults('browser', `npm run bench:browser -- ${process.argv.slice(2).join(' ')}`, results)}`);
}

void main();
