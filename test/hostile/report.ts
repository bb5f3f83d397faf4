/**
 * The hostile-input table: every case of cases.ts run through a ghostdet
 * command, with exit code, peak memory and time. Pass `--cli PATH` to run
 * another checkout's `dist/cli/main.js` (a before/after comparison).
 *
 *   node dist/test/hostile/report.js [--cli PATH] [--memory-mb 1536] [--timeout-s 60]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CASES } from './cases';
import { runCli } from './run_cli';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const cli = arg('--cli');
  const memoryMB = Number(arg('--memory-mb') ?? 1536), timeoutS = Number(arg('--timeout-s') ?? 60);
  console.log(`| class | case | exit | peak MB | s | verdict |\n|---|---|---|---|---|---|`);
  for (const c of CASES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-hostile-'));
    try {
      const made = c.make(dir);
      const r = runCli(made.args, { memoryMB, timeoutS, cli }, dir);
      const firstLine = r.output.split('\n').find((l) => /ghostdet:|FATAL|error|Error|usable|kept/.test(l)) ?? r.output.split('\n')[0];
      const ok = (r.status === 0) === made.accept && made.says.test(r.output);
      const verdict = r.timedOut ? `timeout after ${timeoutS} s` : `${ok ? 'as expected' : 'WRONG'}: ${firstLine.trim().slice(0, 110).replace(/\|/g, '/')}`;
      console.log(`| ${c.cls} | ${c.name} | ${r.status} | ${r.peakMB?.toFixed(0) ?? '?'} | ${r.seconds.toFixed(1)} | ${verdict} |`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main();
