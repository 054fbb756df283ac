// Removes the temporary files when the process ends: on SIGINT/SIGTERM (then ends the process the
// way the signal would have, unless the caller takes the shutdown over), on a normal exit, and on
// an uncaught exception or unhandled rejection (then exits 1). SIGKILL and power cuts cannot be
// caught: the next process's start-up sweep removes what they leave.
import { constants } from 'node:os';

import { silentLogger, type Logger } from '../shared/logger.js';
import { invalidValue } from '../shared/errors.js';

/** What exit cleanup removes: a TempFileRegistry, or anything that holds one. */
export interface ExitCleanupTarget {
  removeAll(): Promise<unknown>;
  /** For the 'exit' event and fatal errors; must not throw. */
  removeAllSync(): unknown;
}

export interface ExitCleanupOptions {
  logger?: Logger;
  /** Default SIGINT and SIGTERM. */
  signals?: readonly NodeJS.Signals[];
  /**
   * Take the shutdown over on the first signal, e.g. an HTTP server's graceful shutdown: stop
   * accepting, let requests in flight finish (their files are still in use, so nothing is removed
   * here), close the registry, exit. The 'exit' hook still removes whatever is left, and a second
   * signal forces: files removed synchronously, exit with 128 + the signal's number. A throw or a
   * rejection from it counts as a fatal error.
   * Without it: the files are removed, then the process ends by the same signal.
   */
  onSignal?: (signal: NodeJS.Signals) => void | Promise<void>;
  /** How long the asynchronous removal may take after a signal before the synchronous one finishes the job; default 5000. */
  signalCleanupTimeoutMs?: number;
  /** Handle uncaughtException and unhandledRejection (remove, log, exit 1); default true. */
  handleFatalErrors?: boolean;
}

const installedFor = new WeakSet<ExitCleanupTarget>();

/** Installs the handlers once per target; returns a function that removes them again. */
export function installExitCleanup(target: ExitCleanupTarget, options: ExitCleanupOptions = {}): () => void {
  if (installedFor.has(target)) throw new Error('Exit cleanup is already installed for this target; call its uninstall function first');
  const logger = options.logger ?? silentLogger;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const timeoutMs = options.signalCleanupTimeoutMs ?? 5000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(invalidValue('signalCleanupTimeoutMs', 'a non-negative number of milliseconds', timeoutMs));
  }
  for (const signal of signals) {
    if (signalNumber(signal) === undefined) throw new RangeError(invalidValue('signals', 'a signal name', signal));
  }
  const handleFatalErrors = options.handleFatalErrors ?? true;

  let signalsSeen = 0;
  let fatalSeen = false;

  const removeNow = (): unknown => {
    try {
      return target.removeAllSync();
    } catch (err) {
      return { removeError: err instanceof Error ? err.message : String(err) };
    }
  };

  const onExit = (code: number): void => {
    const result = removeNow();
    logger.debug({ code, result }, 'removed temporary files at exit');
  };

  const onFatal = (error: unknown, origin: string): void => {
    if (fatalSeen) return;
    fatalSeen = true;
    const result = removeNow();
    logger.error({ err: error, origin, result }, 'fatal error: removed temporary files, exiting with code 1');
    process.exit(1);
  };
  const onUncaughtException = (error: Error, origin: string): void => onFatal(error, origin);
  const onUnhandledRejection = (reason: unknown): void => onFatal(reason, 'unhandledRejection');

  /** After the cleanup: end the process as the signal would have, or with 128 + its number if it cannot be re-raised. */
  const endBySignal = (signal: NodeJS.Signals): void => {
    removeNow(); // anything the asynchronous pass missed or that was registered meanwhile
    uninstall();
    const code = 128 + (signalNumber(signal) ?? 0);
    if (process.listenerCount(signal) === 0) {
      // With no listener left, Node restored the default action: the signal terminates us and the
      // parent (a shell, systemd, a container runtime) sees a death by that signal.
      setTimeout(() => process.exit(code), 1000);
      process.kill(process.pid, signal);
    } else {
      process.exit(code); // someone else listens: re-raising would only call them
    }
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    signalsSeen++;
    if (signalsSeen > 1) {
      const result = removeNow();
      logger.warn({ signal, result }, 'second signal: removed temporary files, exiting now');
      process.exit(128 + (signalNumber(signal) ?? 0));
    }
    if (options.onSignal) {
      logger.info({ signal }, 'signal received: shutdown handed over');
      try {
        Promise.resolve(options.onSignal(signal)).catch((err: unknown) => onFatal(err, 'onSignal'));
      } catch (err) {
        onFatal(err, 'onSignal');
      }
      return;
    }
    logger.info({ signal }, 'signal received: removing temporary files, then exiting');
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      endBySignal(signal);
    };
    const timer = setTimeout(() => {
      logger.warn({ signal, timeoutMs }, 'removing temporary files took too long; finishing synchronously');
      finish();
    }, timeoutMs);
    target.removeAll().then(
      (result) => {
        logger.info({ signal, result }, 'removed temporary files');
        finish();
      },
      (err: unknown) => {
        logger.error({ signal, err }, 'removing temporary files failed; finishing synchronously');
        finish();
      },
    );
  };

  let installed = true;
  installedFor.add(target);
  process.on('exit', onExit);
  for (const signal of signals) process.on(signal, onSignal);
  if (handleFatalErrors) {
    process.on('uncaughtException', onUncaughtException);
    process.on('unhandledRejection', onUnhandledRejection);
  }

  function uninstall(): void {
    if (!installed) return;
    installed = false;
    installedFor.delete(target);
    process.off('exit', onExit);
    for (const signal of signals) process.off(signal, onSignal);
    process.off('uncaughtException', onUncaughtException);
    process.off('unhandledRejection', onUnhandledRejection);
  }
  return uninstall;
}

function signalNumber(signal: string): number | undefined {
  return (constants.signals as Record<string, number | undefined>)[signal];
}
