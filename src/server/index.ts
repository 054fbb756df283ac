// The composition root: settings, services and the running server, for the CLI and for tests.
export { ensureModel, logFileOf, startServer, type DownloadReporter, type RunningServer, type StartOptions } from './start.js';
export { createServices, type ServiceOverrides } from './services.js';
export { createLogger, rotatingLogFile, type LogFileOptions } from './logger.js';
export { installExitCleanup, type ExitCleanupOptions, type ExitCleanupTarget } from './exit-cleanup.js';
export {
  ALL_SETTINGS,
  DEFAULT_MODEL_PATH,
  defaultConcurrency,
  defaultDecodeConcurrency,
  defaultMemorySettings,
  defaultUploadDir,
  flagOf,
  MEMORY_SETTINGS,
  readMemorySettings,
  readServerConfig,
  SERVER_SETTINGS,
  SettingsError,
  threadBudget,
  type SettingSpec,
} from './settings.js';
