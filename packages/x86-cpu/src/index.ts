export {
  CPU_BACKEND_INTERFACE_VERSION,
  FXSAVE_SIZE,
  FaultAccess,
  OffloadMode,
  Prot,
  REG_COUNT,
  Reg,
  StopReason,
  Vector,
} from './backend.js';
export type { CpuBackend, CpuFeatures, FileOffload, MemoryOffload, StopInfo } from './backend.js';
export { CpuBackendError } from './errors.js';
export { createUnicornBackend, unicornVersion } from './unicorn.js';
export { createNativeBackend, nativeBackendUnavailable } from './native.js';
export type { NativeBackendOptions } from './native.js';
export type { UnicornBackendOptions } from './unicorn.js';
