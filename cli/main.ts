#!/usr/bin/env node
/**
 * The `ghostdet` command. Each sub-command lives in its own file and is loaded
 * only when run, so `ghostdet cocoeval` never loads TensorFlow.js.
 */
import yargs, { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKEND_CHOICES } from '../backend/backend_name';
import { flagsHelp } from '../util/flags';
import { commands } from './commands';

async function main(): Promise<void> {
  let cli: Argv = yargs(hideBin(process.argv))
    .scriptName('ghostdet')
    .usage('$0 <command> [options]\n\nDetection training with pluggable backbones (GhostNet, G-GhostNet, VoVNet, ResNet) on TensorFlow.js.')
    .option('backend', {
      choices: BACKEND_CHOICES,
      default: 'auto',
      describe: 'tfjs backend: auto tries tensorflow (tfjs-node-gpu, tfjs-node), then wasm, then cpu. Every command prints the one it runs on',
      global: true,
    })
    .epilogue(`Environment switches (docs/backends.md):\n${flagsHelp()}`)
    .demandCommand(1, 'Name a command; see the list above.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) {
        console.error(`ghostdet: ${err.message}`);
      } else {
        y.showHelp();
        console.error(`\n${msg}`);
      }
      process.exit(1);
    }) as unknown as Argv;
  for (const c of commands) cli = c(cli);
  await cli.parseAsync();
}

main().catch((e: unknown) => {
  console.error(`ghostdet: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
