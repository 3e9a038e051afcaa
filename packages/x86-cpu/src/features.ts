import { Reg, type CpuBackend, type CpuFeatures, StopReason } from './backend.js';
import { CpuBackendError } from './errors.js';

const LEAF1_EDX: Record<number, string> = {
  0: 'fpu', 1: 'vme', 2: 'de', 3: 'pse', 4: 'tsc', 5: 'msr', 6: 'pae', 7: 'mce', 8: 'cx8', 9: 'apic',
  11: 'sep', 12: 'mtrr', 13: 'pge', 14: 'mca', 15: 'cmov', 16: 'pat', 17: 'pse36', 19: 'clflush',
  23: 'mmx', 24: 'fxsr', 25: 'sse', 26: 'sse2', 28: 'ht',
};
const LEAF1_ECX: Record<number, string> = {
  0: 'pni', 1: 'pclmulqdq', 9: 'ssse3', 12: 'fma', 13: 'cx16', 19: 'sse4_1', 20: 'sse4_2', 22: 'movbe',
  23: 'popcnt', 25: 'aes', 26: 'xsave', 28: 'avx', 29: 'f16c', 30: 'rdrand',
};
const EXT_EDX: Record<number, string> = { 11: 'syscall', 20: 'nx', 26: 'pdpe1gb', 27: 'rdtscp', 29: 'lm' };
const EXT_ECX: Record<number, string> = { 0: 'lahf_lm', 5: 'abm', 6: 'sse4a' };
const LEAF7_EBX: Record<number, string> = { 0: 'fsgsbase', 3: 'bmi1', 5: 'avx2', 8: 'bmi2', 9: 'erms' };

function bitNames(value: number, names: Record<number, string>): string[] {
  const out: string[] = [];
  for (const [bit, name] of Object.entries(names)) if ((value >>> Number(bit)) & 1) out.push(name);
  return out;
}

function ascii(...words: number[]): string {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b.toString('latin1').replace(/\0/g, '').trim();
}

export type Cpuid = (leaf: number, sub?: number) => [number, number, number, number];

/** Runs one CPUID instruction in the first page of RAM and returns eax, ebx, ecx, edx. */
export function executeCpuid(cpu: CpuBackend, leaf: number, sub = 0): [number, number, number, number] {
  const base = cpu.ramBase;
  const code = Buffer.alloc(17);
  code[0] = 0xb8; code.writeUInt32LE(leaf >>> 0, 1); // mov eax, leaf
  code[5] = 0xb9; code.writeUInt32LE(sub >>> 0, 6); // mov ecx, sub
  code[10] = 0x0f; code[11] = 0xa2; // cpuid
  code[12] = 0x41; code[13] = 0x89; code[14] = 0xc8; // mov r8d, ecx: a real `syscall` overwrites rcx
  code[15] = 0x0f; code[16] = 0x05; // syscall at the trap address: stop
  cpu.ram.set(code, 0);
  cpu.invalidateCode(base, 4096);
  cpu.setKernelEntry(0, base + 15);
  cpu.setReg(Reg.RIP, BigInt(base));
  const r = cpu.run(0);
  if (r !== StopReason.KernelCall) throw new CpuBackendError('NOMMU_CPUID', `CPUID probe stopped with reason ${r}`);
  return [Number(cpu.getReg(Reg.RAX)), Number(cpu.getReg(Reg.RBX)), Number(cpu.getReg(Reg.R8)), Number(cpu.getReg(Reg.RDX))];
}

/** Leaves the probe page and the registers as a fresh engine has them. */
export function cleanUpProbe(cpu: CpuBackend): void {
  cpu.ram.fill(0, 0, 4096);
  cpu.invalidateCode(cpu.ramBase, 4096);
  cpu.setKernelEntry(0, 0);
  cpu.setRegs(new BigUint64Array(20));
}

/**
 * What guest code will see, asked by executing CPUID in the guest (not what
 * the host has): vendor, model, AT_HWCAP and the /proc/cpuinfo flags.
 */
export function describeFeatures(cpuid: Cpuid): CpuFeatures {
  const [maxLeaf, vb, vc, vd] = cpuid(0);
  const vendor = ascii(vb, vd, vc);
  const [sig, , ecx1, edx1] = cpuid(1);
  const ebx7 = maxLeaf >= 7 ? cpuid(7)[1] : 0;
  const [maxExt] = cpuid(0x80000000);
  const [, , extEcx, extEdx] = maxExt >= 0x80000001 ? cpuid(0x80000001) : [0, 0, 0, 0];
  let modelName = vendor;
  if (maxExt >= 0x80000004) {
    modelName = ascii(...cpuid(0x80000002), ...cpuid(0x80000003), ...cpuid(0x80000004)) || vendor;
  }
  const baseFamily = (sig >>> 8) & 0xf;
  const family = baseFamily === 0xf ? baseFamily + ((sig >>> 20) & 0xff) : baseFamily;
  const model = baseFamily === 0xf || baseFamily === 6 ? (((sig >>> 16) & 0xf) << 4) | ((sig >>> 4) & 0xf) : (sig >>> 4) & 0xf;
  const flags = [
    ...bitNames(edx1, LEAF1_EDX), ...bitNames(extEdx, EXT_EDX), ...bitNames(ecx1, LEAF1_ECX),
    ...bitNames(extEcx, EXT_ECX), ...bitNames(ebx7, LEAF7_EBX),
  ];
  return { vendor, modelName, family, model, stepping: sig & 0xf, hwcap: edx1 >>> 0, hwcap2: 0, flags };
}
