/**
 * Process-family handlers on a real kernel: busybox runs under the Linux
 * table and, where the host can be the reference, the same busybox runs
 * natively and must print the same. Covers getpriority/setpriority (the nice
 * value, inherited by fork and exec), getgroups, thread names (exec, fork,
 * PR_SET_NAME, /proc/PID/comm and stat), process states and /proc directory
 * listings, and resource limits.
 */
import { describe, expect, it } from 'vitest';
import { guest, native, sh } from './guest.js';

describe('getpriority / setpriority', () => {
  it('keep the nice value per task, clamp it, and pass it on through fork and exec', async () => {
    const args = sh('nice; nice -n 5 nice; nice -n 50 nice; nice -n -30 nice; renice -n 3 $$; nice; sh -c nice; (nice); nice -n 2 sh -c "nice -n 1 nice"');
    const ref = native(args);
    expect(ref.out).toBe('0\n5\n19\n-20\n3\n3\n3\n6\n');
    expect(await guest(args)).toEqual(ref);
  });

  it('reach a process group and a user, and answer ESRCH for nobody', async () => {
    // renice on the native host would reach the test runner's group: expected values are Linux's rules.
    // renice -n is relative to the highest priority the selector finds.
    const r = await guest(sh('renice -n 4 -g 1; nice; renice -n 2 -u root; sh -c nice; renice -n 1 -u nobody; echo rc=$?; renice -n 1 -p 999; echo rc=$?'));
    expect(r.out).toBe('4\n6\nrc=1\nrc=1\n');
    expect(r.err).toBe('renice: getpriority: No such process\n'.repeat(2));
  });

  it('refuse to lower the nice value without root (EACCES)', async () => {
    const r = await guest(sh('nice -n 4 sh -c "nice; renice -n 9 \\$\\$; nice; renice -n 1 \\$\\$; echo rc=\\$?; nice"'), {
      identity: { uid: 1000, euid: 1000, gid: 1000, egid: 1000 },
    });
    // What busybox prints natively under setpriv --reuid=1000 (its pid aside).
    expect(r.out).toBe('4\n1 (process ID) old priority 4, new priority 9\n9\nrc=1\n9\n');
    expect(r.err).toBe('renice: failed to set priority for 1 (process ID): Permission denied\n');
  });
});

describe('getgroups', () => {
  it('answers an empty supplementary group list', async () => {
    const r = await guest(sh('id; echo rc=$?; id -G'));
    expect(r).toEqual({ out: 'uid=0(root) gid=0(root)\nrc=0\n0\n', err: '', code: 0 });
  });
});

describe('thread names', () => {
  it('come from exec, survive fork, follow PR_SET_NAME, and show in /proc/PID/comm and stat', async () => {
    // cat is exec'd as /proc/self/exe and renames itself; ps runs forked, without exec, and renames itself.
    const args = sh(
      'cat /proc/$$/comm; cut -d" " -f2 /proc/$$/stat; (cat /proc/$$/comm; exec cat /proc/self/comm); ps -o pid,ppid,comm | awk -v p=$$ \'$2==p && $3=="ps" {print "ps"}\'',
    );
    const ref = native(args);
    expect(ref.out).toBe('busybox\n(busybox)\nbusybox\ncat\nps\n');
    expect(await guest(args)).toEqual(ref);
  });
});

describe('process states', () => {
  it('show a process parked in a syscall as sleeping, the reader as running', async () => {
    const args = sh('sleep 2 & p=$!; sleep 0.3; grep State /proc/$p/status; cut -d" " -f3 /proc/$p/stat; kill $p; wait; grep State /proc/self/status');
    const ref = native(args);
    expect(ref.out).toBe('State:\tS (sleeping)\nS\nState:\tR (running)\n');
    expect(await guest(args)).toEqual(ref);
  });
});

describe('/proc directories', () => {
  it('list when read, so /proc/self/fd shows the descriptor reading it, as symlinks', async () => {
    // Descriptors above 9 are left out: the test runner may leak some to the native run.
    const args = sh("ls /proc/self/fd | grep -x '[0-9]'; find /proc/self/fd/ -type l -name 0; find /proc/self/ -maxdepth 1 -type d -name fd");
    const ref = native(args);
    expect(ref.out).toBe('0\n1\n2\n3\n/proc/self/fd/0\n/proc/self/fd\n');
    expect(await guest(args)).toEqual(ref);
  });
});

describe('resource limits', () => {
  it('are per process, inherited by fork and exec, and NOFILE is enforced (EMFILE)', async () => {
    // Only limits the script sets are printed: the native host's defaults may differ.
    const args = sh('ulimit -n 50; (ulimit -n 20; ulimit -n); ulimit -n; sh -c "ulimit -n"; ulimit -n 3; cat /dev/null; echo rc=$?');
    const ref = native(args);
    expect(ref.out).toBe('20\n50\n50\nrc=1\n');
    expect(await guest(args)).toEqual(ref);
  });
});
