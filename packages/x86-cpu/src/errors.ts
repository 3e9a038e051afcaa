/** A failure of the host side of a CPU backend (never a guest errno). */
export class CpuBackendError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CpuBackendError';
    this.code = code;
  }
}
