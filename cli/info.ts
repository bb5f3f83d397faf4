import { setupBackend } from './setup_backend';

export interface InfoArgs {
  backend?: string;
  backbone?: string;
  input: number;
  list: boolean;
  json: boolean;
}

export async function runInfo(a: InfoArgs): Promise<void> {
  await setupBackend(a.backend);
  if (a.backbone || a.list) throw new Error('backbones are not built yet');
}
