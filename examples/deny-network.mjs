#!/usr/bin/env node
// Runs a program under nommu without network access: creating an Internet
// (or any non-local) socket, and connecting, binding or sending to a
// non-local address, fail with EACCES, as a seccomp or AppArmor policy would
// answer. Local (AF_UNIX) sockets keep working.
//
//   node examples/deny-network.mjs PROGRAM [ARGS...]
//
// Each refusal is reported on stderr:  deny-network: socket(AF_INET) refused
import { E } from '@nommu/kernel';
import { createNommu } from '@nommu/cli';

const AF_UNIX = 1;
const FAMILIES = /** @type {Record<number, string>} */ ({ 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6', 16: 'AF_NETLINK', 17: 'AF_PACKET' });
/** Calls that take a socket address, and which argument holds it. */
const ADDRESS_ARG = /** @type {Record<string, number>} */ ({ connect: 1, bind: 1, sendto: 4 });

const [program, ...args] = process.argv.slice(2);
if (!program) {
  process.stderr.write('usage: deny-network.mjs PROGRAM [ARGS...]\n');
  process.exit(2);
}

/** @param {number} family */
const familyName = (family) => FAMILIES[family] ?? `family ${family}`;

const nommu = createNommu({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' });
nommu.addHooks({
  beforeSyscall(call) {
    let family;
    if (call.name === 'socket' || call.name === 'socketpair') {
      family = Number(call.arg(0) & 0xffffffffn);
    } else if (ADDRESS_ARG[call.name] !== undefined) {
      const addr = call.arg(/** @type {number} */ (ADDRESS_ARG[call.name]));
      if (addr === 0n) return undefined; // sendto on a connected socket
      const sa = call.memory.read(addr, 2); // sa_family (an EFAULT here is the call's answer)
      family = /** @type {number} */ (sa[0]) | (/** @type {number} */ (sa[1]) << 8);
    } else {
      return undefined;
    }
    if (family === AF_UNIX) return undefined;
    process.stderr.write(`deny-network: ${call.name}(${familyName(family)}) refused\n`);
    return { errno: E.EACCES };
  },
});
let status = 127;
try {
  status = (await nommu.run({ program, args, env: process.env })).exitCode;
} catch (e) {
  process.stderr.write(`deny-network: ${program}: ${/** @type {Error} */ (e).message}\n`);
} finally {
  nommu.dispose();
}
process.exitCode = status;
