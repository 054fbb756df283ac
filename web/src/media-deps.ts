// The browser's microphone and recorder, behind the small interface SafeMediaRecorder uses, so the
// recorder can be driven by fakes in unit tests.
import { RecorderError } from './recorder-error.js';
import type { MediaRecorderLike, StreamLike } from './resource-types.js';

export interface RecorderOptions {
  mimeType?: string;
  audioBitsPerSecond?: number;
}

export interface MediaDeps {
  getUserMedia(constraints: object): Promise<StreamLike>;
  createRecorder(stream: StreamLike, options: RecorderOptions): MediaRecorderLike;
  isTypeSupported(type: string): boolean;
}

interface BrowserMedia {
  navigator?: { mediaDevices?: { getUserMedia?(constraints: object): Promise<StreamLike> } };
  MediaRecorder?: { new (stream: StreamLike, options: RecorderOptions): MediaRecorderLike; isTypeSupported?(type: string): boolean };
}

export function browserMedia(): MediaDeps {
  const g = globalThis as unknown as BrowserMedia;
  return {
    getUserMedia(constraints) {
      const devices = g.navigator?.mediaDevices;
      if (!devices?.getUserMedia || !g.MediaRecorder) {
        return Promise.reject(
          new RecorderError('UNSUPPORTED', 'This browser cannot record here: recording needs a secure page (https or localhost) and a browser with MediaRecorder.'),
        );
      }
      return devices.getUserMedia(constraints);
    },
    createRecorder(stream, options) {
      if (!g.MediaRecorder) throw new RecorderError('UNSUPPORTED', 'This browser has no MediaRecorder.');
      return new g.MediaRecorder(stream, options);
    },
    isTypeSupported: (type) => g.MediaRecorder?.isTypeSupported?.(type) ?? false,
  };
}
