/**
 * `nommu shell` in a real terminal: tmux gives it a pty, send-keys types, and
 * capture-pane reads the screen, as a person would see it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const NOMMU = join(import.meta.dirname, '..', 'bin', 'nommu.js');
const session = `nommu-test-${process.pid}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

/** Polls the screen until `pattern` shows up (or fails after `ms`). */
async function waitFor(pattern: RegExp, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let screen = '';
  while (Date.now() < end) {
    screen = tmux('capture-pane', '-t', session, '-p');
    if (pattern.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${pattern}; screen:\n${screen}`);
}

afterEach(() => {
  spawnSync('tmux', ['kill-session', '-t', session]);
});

describe.skipIf(!HAVE_TMUX)('nommu shell in a terminal', () => {
  it('shows a prompt, runs commands, survives Ctrl-C and exits with the shell status, terminal restored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nommu-shell-'));
    try {
      const status = join(dir, 'status');
      const stty = join(dir, 'stty');
      tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30',
        `node ${NOMMU} shell; echo $? > ${status}; stty -a > ${stty}; sleep 60`);
      await waitFor(/\[nommu\] \S+ [#$]\s*$/m);
      tmux('send-keys', '-t', session, 'echo hello from $((6*7))', 'Enter');
      await waitFor(/^hello from 42$/m);
      // Ctrl-C stops the foreground command, not the shell.
      // The marker comes from the foreground job itself, so Ctrl-C cannot race the shell's tcsetpgrp.
      tmux('send-keys', '-t', session, "/bin/busybox sh -c 'echo started; exec /bin/busybox sleep 30'; echo not-interrupted", 'Enter');
      await waitFor(/^started$/m);
      tmux('send-keys', '-t', session, 'C-c');
      tmux('send-keys', '-t', session, 'echo still-here', 'Enter');
      const screen = await waitFor(/^still-here$/m);
      expect(screen).not.toMatch(/^not-interrupted$/m);
      tmux('send-keys', '-t', session, 'exit 5', 'Enter');
      const end = Date.now() + 15_000;
      let code = '';
      while (Date.now() < end && code === '') {
        try {
          code = readFileSync(status, 'utf8').trim();
          if (code) await sleep(300); // let stty run too
        } catch {
          await sleep(100);
        }
      }
      expect(code).toBe('5');
      // The shell put the host terminal in raw mode for line editing; nommu gave it back.
      const modes = readFileSync(stty, 'utf8');
      expect(modes).toMatch(/(^|\s)icanon(\s|$)/);
      expect(modes).toMatch(/(^|\s)echo(\s|$)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
