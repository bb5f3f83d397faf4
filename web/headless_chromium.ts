/**
 * Headless Chromium for the browser test and `bench:browser`, driven by
 * puppeteer-core (no bundled browser download): Debian's `chromium`, or the
 * binary named by GHOSTDET_CHROMIUM.
 */
import * as fs from 'fs';
import type { Browser } from 'puppeteer-core';
import { flag } from '../util/flags';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function findChromium(): string | undefined {
  const env = flag('GHOSTDET_CHROMIUM');
  if (env) return env;
  return CANDIDATES.find((c) => fs.existsSync(c));
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium found: install it (apt-get install -y chromium) or set GHOSTDET_CHROMIUM to its path');
  const puppeteer = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath, headless: true,
    // --no-sandbox: CI runs as root. SwiftShader gives headless Chromium a WebGL and a WebGPU adapter without a GPU.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
      '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
  });
}
