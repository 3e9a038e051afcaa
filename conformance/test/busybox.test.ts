/**
 * Debian's busybox-static (glibc, non-PIE, ET_EXEC) under nommu against the
 * same busybox natively: shells, pipelines, traps, fork and exec of the same
 * link address (page overlays), and --strict-nommu.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENV, runNative } from '../harness/native.js';
import { runNommu } from '../harness/nommu.js';

const BUSYBOX = '/bin/busybox';
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nommu-busybox-'));
  writeFileSync(
    join(dir, 'script.sh'),
    [
      'i=0',
      'while [ $i -lt 5 ]; do',
      '  i=$((i+1))',
      '  x=$(echo "n$i" | tr n N)',
      '  echo "$x $(expr $i \\* 3)"',
      'done',
      'for w in alpha beta; do (echo "sub $w"; exit 2); echo "rc $?"; done',
      'f() { echo "func $1"; return 4; }',
      'f arg; echo "f rc $?"',
      "cat <<EOT | wc -l",
      'one',
      'two',
      'EOT',
      'echo done | cat | wc -c',
    ].join('\n') + '\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIOS: [string, string[]][] = [
  ['pipeline, subshell exit code', ['sh', '-c', 'echo a | /bin/busybox cat | /bin/busybox wc -c; (exit 3); echo $?']],
  ['trap on a signal sent to itself', ['sh', '-c', 'trap "echo caught" USR1; kill -USR1 $$; echo after']],
  ['exit status of a pipeline and of false', ['sh', '-c', 'false | true; echo $?; true | false; echo $?']],
  ['command substitution and arithmetic', ['sh', '-c', 'echo $(( $(echo 6) * 7 ))']],
  ['background job and wait', ['sh', '-c', '(sleep 0.1; echo bg) & echo fg; wait; echo waited']],
  ['text tools', ['sh', '-c', 'printf "b\\na\\nc\\na\\n" | sort | uniq -c | sed "s/^ *//"']],
  ['sha256sum and base64', ['sh', '-c', 'echo nommu | sha256sum; echo nommu | base64']],
  ['gzip round trip', ['sh', '-c', 'seq 1 2000 | gzip -c | gunzip -c | md5sum']],
];

describe('busybox under nommu matches busybox natively', () => {
  it.each(SCENARIOS)('%s', async (_name, args) => {
    const native = runNative(BUSYBOX, args, { env: DEFAULT_ENV });
    const nommu = await runNommu(BUSYBOX, args, { env: DEFAULT_ENV });
    expect({ out: nommu.stdout, err: nommu.stderr, status: nommu.status }).toEqual({
      out: native.stdout,
      err: native.stderr,
      status: native.status,
    });
  });

  it('runs a shell script with loops, subshells, functions and here-documents', async () => {
    const args = ['sh', join(dir, 'script.sh')];
    const native = runNative(BUSYBOX, args, { env: DEFAULT_ENV });
    const nommu = await runNommu(BUSYBOX, args, { env: DEFAULT_ENV });
    expect(nommu.stdout).toBe(native.stdout);
    expect(nommu.status).toBe(native.status);
  });

  it('--strict-nommu refuses fork with EINVAL and reports it', async () => {
    const r = await runNommu(BUSYBOX, ['sh', '-c', 'echo a | cat'], { nommuArgs: ['--strict-nommu'] });
    expect(r.stderr).toMatch(/can't fork: Invalid argument/);
    expect(r.stderr).toMatch(/strict nommu: \d+ operation\(s\) an MMU-less kernel refuses/);
    expect(r.stderr).toMatch(/fork\(\) by \/usr\/bin\/busybox/);
    expect(r.status).not.toBe(0);
  });
});
