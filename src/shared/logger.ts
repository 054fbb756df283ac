// The logger the memory manager, sessions and the server write to: pino's calling convention
// (`log.info({ figures }, 'message')`), so the service passes its pino instance and tests pass a
// recorder.
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Drops everything: the default where no logger is given. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
