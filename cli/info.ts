import { tf } from '../engine/tf';
import { backboneNames, createBackbone } from '../backbones/index';
import { countMacs } from '../nn/macs';
import { setupBackend } from './setup_backend';

export interface InfoArgs {
  backend?: string;
  backbone?: string;
  config?: string;
  set?: string[];
  input: number;
  list: boolean;
  json: boolean;
}

/** Parameters, MACs at a square input and output specs of one backbone. */
export function backboneInfo(name: string, input: number): { name: string; params: number; paramsBackbone: number; macs: number; outputs: Array<{ name: string; stride: number; channels: number }> } {
  const m = createBackbone(name);
  try {
    m.eval();
    const macs = countMacs(() => tf.tidy(() => { m.forwardAll(tf.zeros([1, input, input, 3])); }));
    return { name, params: m.numParams(), paramsBackbone: m.numParamsBackbone(), macs, outputs: m.outputs };
  } finally {
    m.dispose();
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US');

export async function runInfo(a: InfoArgs): Promise<void> {
  await setupBackend(a.backend);
  if (a.list) {
    console.log(backboneNames().join('\n'));
    return;
  }
  if (a.config) {
    (await import('./info_config')).printConfigInfo(a.config, a.set ?? [], a.json);
    return;
  }
  if (!a.backbone) return;
  const r = backboneInfo(a.backbone, a.input);
  if (a.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`${r.name}\n  params            ${fmt(r.params)} (backbone without classifier: ${fmt(r.paramsBackbone)})\n  MACs @${a.input}         ${fmt(r.macs)} (${(r.macs / 1e9).toFixed(2)} G)`);
  console.log('  outputs           ' + r.outputs.map((o) => `${o.name} stride ${o.stride} × ${o.channels} ch`).join(', '));
}
