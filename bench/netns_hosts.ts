/**
 * Two "hosts" on one machine for MPI over TCP: two Linux network namespaces
 * joined by a veth pair, with addresses that exist only inside them. mpirun
 * runs in the first and starts the rank of the second through an rsh agent
 * that enters that namespace (`ip netns exec`), as it would ssh to another
 * machine. Needs root and iproute2; `cleanup` removes both namespaces (and
 * with them the veth pair). Used by the MPI test and bench:distributed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface NetnsHosts {
  /** The two addresses, one per namespace. */
  addresses: [string, string];
  /** `ip netns exec <first> mpirun …` up to (not including) `-np`. */
  mpirun: string[];
  cleanup(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Makes the two namespaces, or returns why it cannot (not root, no iproute2, no namespaces). */
export function makeNetnsHosts(): NetnsHosts | string {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (ip) not found';
  const id = process.pid % 100000, subnet = `10.231.${process.pid % 250}`;
  const ns: [string, string] = [`gd${id}a`, `gd${id}b`];
  const veth: [string, string] = [`gdv${id}a`, `gdv${id}b`];
  const addresses: [string, string] = [`${subnet}.1`, `${subnet}.2`];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-netns-'));
  const cleanup = (): void => {
    for (const n of ns) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const n of ns) ip(['netns', 'add', n]);
    ip(['link', 'add', veth[0], 'type', 'veth', 'peer', 'name', veth[1]]);
    for (let i = 0; i < 2; i++) {
      ip(['link', 'set', veth[i], 'netns', ns[i]]);
      ip(['-n', ns[i], 'addr', 'add', `${addresses[i]}/24`, 'dev', veth[i]]);
      ip(['-n', ns[i], 'link', 'set', 'lo', 'up']);
      ip(['-n', ns[i], 'link', 'set', veth[i], 'up']);
    }
  } catch (e) {
    cleanup();
    return (e as Error).message;
  }
  const agent = path.join(dir, 'rsh_agent.sh');
  fs.writeFileSync(agent, `#!/bin/sh\n# mpirun's "ssh": run the command inside the namespace that owns the address.\nhost=$1; shift\ncase "$host" in\n  ${addresses[0]}) ns=${ns[0]} ;;\n  ${addresses[1]}) ns=${ns[1]} ;;\n  *) echo "no namespace for $host" >&2; exit 1 ;;\nesac\nexec ip netns exec "$ns" sh -c "$*"\n`, { mode: 0o755 });
  const net = `${subnet}.0/24`;
  return {
    addresses,
    mpirun: ['ip', 'netns', 'exec', ns[0], 'mpirun', '--allow-run-as-root', '--host', addresses.join(','), '--mca', 'plm_rsh_agent', agent,
      '--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', net, '--mca', 'oob_tcp_if_include', net],
    cleanup,
  };
}
