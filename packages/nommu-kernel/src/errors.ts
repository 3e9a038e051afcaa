/** A failure of the host side of the kernel (a bug, a backend error), never a guest errno. */
export class KernelError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelError';
    this.code = code;
  }
}
