/**
 * Colour for nommu's own diagnostics: only when the stream is a terminal, and
 * never with NO_COLOR set to anything but '' (no-color.org) or TERM=dumb.
 */
export function useColor(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** The "nommu:" that starts an error line on stderr: bold red on a colour terminal. */
export function errorPrefix(): string {
  return useColor() ? '\x1b[1;31mnommu:\x1b[0m' : 'nommu:';
}
