/** `ghostdet info -c CONFIG`: the resolved config, and the detector's parameters, MACs and level specs. */
import { configTable, loadConfig } from '../configs/schema';
import { buildDetector } from '../detectors/build';
import { modelCost } from '../eval/report';

export function printConfigInfo(file: string, sets: string[], json: boolean): void {
  const { config, files } = loadConfig(file, sets);
  const model = buildDetector(config.model);
  const r = config.data.resize, div = config.data.sizeDivisor;
  const [h, w] = r.mode === 'square' ? [r.size, r.size] : [r.scale[1], r.scale[0]];
  const H = Math.ceil(h / div) * div, W = Math.ceil(w / div) * div;
  const cost = modelCost(model, H, W);
  const info = {
    files, params: cost.params, paramsBackbone: model.backbone.numParamsBackbone(), macs: cost.macs, inputSize: [H, W],
    backboneOutputs: model.backbone.outputs, levels: model.neck.outputs,
    paramsByPart: { backbone: model.backbone.numParams(), neck: model.neck.numParams(), head: model.head.numParams() },
  };
  model.dispose();
  if (json) {
    console.log(JSON.stringify({ ...info, config }));
    return;
  }
  console.log(`config: ${files.join(' ← ')}\n${configTable(config)}\n`);
  console.log(`${model.kind} + ${config.model.backbone.name}: ${cost.params.toLocaleString('en-US')} parameters (backbone ${info.paramsBackbone.toLocaleString('en-US')}), ${(cost.macs / 1e9).toFixed(2)} GMACs at ${H}×${W}`);
  const p = info.paramsByPart;
  console.log(`parameters by part: backbone ${p.backbone.toLocaleString('en-US')}, neck (${config.model.neck.type ?? 'fpn'}) ${p.neck.toLocaleString('en-US')}, head (${config.model.head.type ?? 'retinanet'}) ${p.head.toLocaleString('en-US')}`);
  console.log(`backbone outputs: ${info.backboneOutputs.map((o) => `${o.name} /${o.stride} ${o.channels}ch`).join(', ')}`);
  console.log(`levels: ${info.levels.map((o) => `${o.name} /${o.stride} ${o.channels}ch`).join(', ')}`);
}
