/** Backbone name → factory: a plain map, no registry. */
import type { Backbone, BackboneOptions } from './backbone';
import { ghostnetModels } from './ghostnet';
import { gghostModels } from './gghostnet';
import { vovnetModels } from './vovnet';
import { resnetModels } from './resnet';

export type BackboneFactory = (o?: BackboneOptions) => Backbone;

export const BACKBONES: Record<string, BackboneFactory> = {
  ...ghostnetModels,
  ...gghostModels,
  ...vovnetModels,
  ...resnetModels,
};

export function backboneNames(): string[] {
  return Object.keys(BACKBONES);
}

/** Builds a backbone by name; unknown names list the known ones. */
export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const f = BACKBONES[name];
  if (!f) throw new Error(`unknown backbone "${name}"; known: ${backboneNames().join(', ')}`);
  return f(options);
}
