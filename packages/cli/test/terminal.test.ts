/**
 * The guest on a real terminal: tmux gives nommu a pty of a known size,
 * resizes it, types keys, and capture-pane reads the screen.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileMusl, HAVE_MUSL_GCC, NOMMU_BIN, tempDir } from './helpers.js';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const BUSYBOX = '/bin/busybox';
const session = `nommu-term-${process.pid}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

/** Starts `command` (sh syntax) in a detached pane of cols x rows. */
function start(command: string, cols: number, rows: number): void {
  tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), `${command}; sleep 60`);
}

/** Polls the screen until `pattern` shows up (or fails after `ms`). */
async function waitFor(pattern: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let screen = '';
  while (Date.now() < end) {
    screen = tmux('capture-pane', '-t', session, '-p');
    if (pattern.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${pattern}; screen:\n${screen}`);
}

/** Polls until `path` has content (the shell around nommu writes it last). */
async function readWhenWritten(path: string, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
    await sleep(100);
  }
  throw new Error(`${path} was not written`);
}

afterEach(() => {
  spawnSync('tmux', ['kill-session', '-t', session]);
});

const WINCH_C = String.raw`
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t changed;
static void on_winch(int sig) { (void)sig; changed = 1; }

static void size(const char *what) {
  struct winsize ws;
  if (ioctl(1, TIOCGWINSZ, &ws) != 0) { perror("TIOCGWINSZ"); return; }
  printf("%s %dx%d\n", what, ws.ws_col, ws.ws_row);
  fflush(stdout);
}

int main(void) {
  int p[2], n = -1;
  pid_t pg = -1, sid = -1;
  printf("isatty %d %d\n", isatty(0), isatty(1));
  if (ioctl(0, TIOCGPGRP, &pg) != 0) perror("TIOCGPGRP");
  if (ioctl(0, TIOCGSID, &sid) != 0) perror("TIOCGSID");
  printf("foreground %d session %d\n", pg == getpgrp(), sid == getsid(0));
  if (pipe(p) != 0 || write(p[1], "hello", 5) != 5 || ioctl(p[0], FIONREAD, &n) != 0) perror("pipe FIONREAD");
  printf("pipe-fionread %d\n", n);
  if (ioctl(0, FIONREAD, &n) != 0) perror("tty FIONREAD");
  printf("tty-fionread %d\n", n);
  signal(SIGWINCH, on_winch);
  size("size");
  for (int i = 0; i < 2; i++) {
    while (!changed) pause();
    changed = 0;
    size("winch");
  }
  return 0;
}
`;

/** The standard streams on the terminal: open for reading and writing, named and reopened as the console. */
const TTYFDS_C = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  for (int fd = 0; fd < 3; fd++) {
    char path[64], link[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    int again = open(path, O_RDONLY); /* what less does to read keys */
    const char *name = ttyname(fd);
    printf("fd%d %s acc=%d reopen=%s ttyname=%s\n", fd, link, fcntl(fd, F_GETFL) & O_ACCMODE, again >= 0 ? "ok" : "no", name ? name : "-");
  }
  struct stat a, b;
  printf("console %d\n", fstat(2, &a) == 0 && stat("/dev/console", &b) == 0 && a.st_rdev == b.st_rdev && a.st_ino == b.st_ino);
  return 0;
}
`;

/** A password prompt: ICANON kept, ECHO off, so the host terminal is raw and nommu edits the line. */
const PASSWORD_C = String.raw`
#include <stdio.h>
#include <string.h>
#include <termios.h>

int main(void) {
  struct termios t, saved;
  char line[64] = "";
  tcgetattr(0, &saved);
  t = saved;
  t.c_lflag &= ~ECHO;
  tcsetattr(0, TCSANOW, &t);
  printf("password: ");
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) return 1;
  tcsetattr(0, TCSANOW, &saved);
  line[strcspn(line, "\n")] = 0;
  printf("\ngot [%s]\n", line);
  return 0;
}
`;

describe.skipIf(!HAVE_TMUX)('nommu run on a terminal', () => {
  it.skipIf(!HAVE_MUSL_GCC)('a password prompt (ICANON without ECHO): nothing echoes, erase edits the line', async () => {
    const { dir, cleanup } = tempDir('password');
    try {
      const prog = compileMusl(dir, 'password', PASSWORD_C);
      const status = join(dir, 'status');
      start(`node ${NOMMU_BIN} run ${prog}; echo $? > ${status}`, 80, 20);
      await waitFor(/^password:/m);
      tmux('send-keys', '-t', session, 'secx', 'BSpace', 'ret', 'Enter');
      const screen = await waitFor(/^got \[.*\]$/m); // the whole line: tmux may show a write half drawn
      expect(screen).toMatch(/^got \[secret\]$/m);
      expect(screen).not.toMatch(/secx/);
      expect((await readWhenWritten(status)).trim()).toBe('0');
    } finally {
      cleanup();
    }
  });

  it.skipIf(!HAVE_MUSL_GCC)('the standard streams are the terminal, the console: O_RDWR, a name ttyname finds, reopened for reading', async () => {
    const { dir, cleanup } = tempDir('ttyfds');
    try {
      const prog = compileMusl(dir, 'ttyfds', TTYFDS_C);
      const status = join(dir, 'status');
      start(`node ${NOMMU_BIN} run ${prog}; echo $? > ${status}`, 100, 20);
      const screen = await waitFor(/^console \d$/m);
      for (const fd of [0, 1, 2]) expect(screen).toMatch(new RegExp(`^fd${fd} /dev/console acc=2 reopen=ok ttyname=/dev/console$`, 'm'));
      expect(screen).toMatch(/^console 1$/m);
      expect((await readWhenWritten(status)).trim()).toBe('0');
    } finally {
      cleanup();
    }
  });

  it.skipIf(!HAVE_MUSL_GCC)('the guest sees the window size, and SIGWINCH with the new size after a resize', async () => {
    const { dir, cleanup } = tempDir('winch');
    try {
      const prog = compileMusl(dir, 'winch', WINCH_C);
      const status = join(dir, 'status');
      start(`node ${NOMMU_BIN} run ${prog}; echo $? > ${status}`, 90, 25);
      const first = await waitFor(/^size 90x25$/m);
      expect(first).toMatch(/^isatty 1 1$/m);
      expect(first).toMatch(/^foreground 1 session 1$/m);
      expect(first).toMatch(/^pipe-fionread 5$/m);
      expect(first).toMatch(/^tty-fionread 0$/m);
      tmux('resize-window', '-t', session, '-x', '70', '-y', '20');
      await waitFor(/^winch 70x20$/m);
      tmux('resize-window', '-t', session, '-x', '61', '-y', '17');
      await waitFor(/^winch 61x17$/m);
      expect((await readWhenWritten(status)).trim()).toBe('0');
    } finally {
      cleanup();
    }
  });

  it.skipIf(!existsSync(BUSYBOX))('busybox stty -a shows the pane size; raw mode is undone when the guest dies of SIGKILL', async () => {
    const { dir, cleanup } = tempDir('stty');
    try {
      const [before, after, status] = ['before', 'after', 'status'].map((f) => join(dir, f)) as [string, string, string];
      start(
        `stty -g > ${before}; node ${NOMMU_BIN} run ${BUSYBOX} sh -c 'stty -a; stty raw -echo; kill -9 $$'; echo $? > ${status}; stty -g > ${after}`,
        77,
        21,
      );
      await waitFor(/rows 21; columns 77;/);
      expect((await readWhenWritten(status)).trim()).toBe('137');
      expect(await readWhenWritten(after)).toBe(readFileSync(before, 'utf8'));
    } finally {
      cleanup();
    }
  });

  it.skipIf(!existsSync(BUSYBOX))('busybox sh: job control on, Ctrl-C interrupts sleep, a background read stops, modes restored', async () => {
    const { dir, cleanup } = tempDir('ctrlc');
    try {
      const [before, after, status] = ['before', 'after', 'status'].map((f) => join(dir, f)) as [string, string, string];
      start(`stty -g > ${before}; PS1='P> ' node ${NOMMU_BIN} run ${BUSYBOX} sh; echo $? > ${status}; stty -g > ${after}`, 100, 30);
      await waitFor(/^P>\s*$/m);
      // The marker comes from the foreground job itself, so Ctrl-C cannot race the shell's tcsetpgrp.
      tmux('send-keys', '-t', session, `${BUSYBOX} sh -c 'echo started; exec ${BUSYBOX} sleep 30'; echo not-interrupted`, 'Enter');
      await waitFor(/^started$/m);
      tmux('send-keys', '-t', session, 'C-c');
      tmux('send-keys', '-t', session, 'echo still-here', 'Enter');
      const screen = await waitFor(/^still-here$/m);
      expect(screen).not.toMatch(/can't access tty/);
      expect(screen).not.toMatch(/^not-interrupted$/m);
      // A background job reading the terminal gets SIGTTIN and stops.
      tmux('send-keys', '-t', session, `${BUSYBOX} cat &`, 'Enter');
      const stopped = /^\[1\]\+\s+Stopped.*cat/m;
      for (let i = 0; i < 50 && !stopped.test(tmux('capture-pane', '-t', session, '-p')); i++) {
        tmux('send-keys', '-t', session, 'jobs', 'Enter');
        await sleep(200);
      }
      await waitFor(stopped);
      tmux('send-keys', '-t', session, 'kill -9 %1; exit 3', 'Enter');
      expect((await readWhenWritten(status)).trim()).toBe('3');
      expect(await readWhenWritten(after)).toBe(readFileSync(before, 'utf8'));
    } finally {
      cleanup();
    }
  });
});
