// Why recording failed, with a message meant for the person at the microphone.
export type RecorderErrorCode =
  | 'PERMISSION_DENIED'
  | 'NO_DEVICE'
  | 'DEVICE_BUSY'
  | 'UNSUPPORTED'
  | 'RECORDER_FAILED'
  | 'NOT_RECORDING'
  | 'ALREADY_STARTED'
  | 'ABORTED';

export class RecorderError extends Error {
  readonly code: RecorderErrorCode;

  constructor(code: RecorderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecorderError';
    this.code = code;
  }
}

/** Maps what getUserMedia rejects with (a DOMException, by name) to a RecorderError. */
export function microphoneError(err: unknown): RecorderError {
  if (err instanceof RecorderError) return err;
  const name = (err as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') {
    return new RecorderError(
      'PERMISSION_DENIED',
      'Microphone access was denied. Allow the microphone for this site in the browser’s settings, then try again.',
      { cause: err },
    );
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return new RecorderError('NO_DEVICE', 'No microphone was found. Connect one and try again.', { cause: err });
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return new RecorderError('DEVICE_BUSY', 'The microphone could not be started. Another application may be using it.', { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new RecorderError('RECORDER_FAILED', `The microphone could not be opened: ${detail}`, { cause: err });
}
