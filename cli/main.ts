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

/** `--debug` shows stack traces; without it a user sees only the message, which names the file and the problem. */
const DEBUG = process.argv.includes('--debug');

function report(e: unknown): void {
  if (DEBUG && e instanceof Error && e.stack) console.error(e.stack);
  else console.error(`ghostdet: ${e instanceof Error ? e.message : String(e)}`);
}

// Errors that escape a callback (a stream, a timer) end the command with the same one-line message.
process.on('uncaughtException', (e) => { report(e); process.exit(1); });
process.on('unhandledRejection', (e) => { report(e); process.exit(1); });

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
    .option('debug', { type: 'boolean', default: false, describe: 'print stack traces with errors (for bug reports)', global: true })
    .epilogue(`Environment switches (docs/backends.md):\n${flagsHelp()}`)
    .demandCommand(1, 'Name a command; see the list above.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) {
        report(err);
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
  report(e);
  process.exit(1);
});
