// Reading the text fields of a multipart form: each at most once, each checked, each error a 400
// that names the field, what it takes and what it got.
import { LANGUAGE_CODE } from '../native/index.js';
import { invalidValue } from '../shared/errors.js';
import { HttpError } from './errors.js';

export type FormFields = Map<string, string[]>;

function invalid(name: string, expected: string, value: string): HttpError {
  return new HttpError(400, 'INVALID_PARAMETER', invalidValue(name, expected, value), {}, { param: name });
}

/** The single value of a field, or undefined; a field sent twice is an error. */
export function field(fields: FormFields, name: string): string | undefined {
  const values = fields.get(name);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw new HttpError(400, 'DUPLICATE_PARAMETER', `The field ${name} was sent ${values.length} times`, {}, { param: name });
  return values[0];
}

/** Refuses fields the route does not know, so a typo is not silently ignored. */
export function rejectUnknownFields(fields: FormFields, known: readonly string[]): void {
  for (const name of fields.keys()) {
    if (!known.includes(name)) throw new HttpError(400, 'UNKNOWN_PARAMETER', `Unknown field ${name}; expected one of ${known.join(', ')}`, {}, { param: name });
  }
}

export function booleanField(fields: FormFields, name: string): boolean | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw invalid(name, 'true or false', raw);
}

export function numberField(fields: FormFields, name: string, min: number, max: number): number | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw invalid(name, `a number between ${min} and ${max}`, raw);
  return n;
}

export function enumField<T extends string>(fields: FormFields, name: string, allowed: readonly T[]): T | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw invalid(name, `one of ${allowed.join(', ')}`, raw);
  return raw as T;
}

/** An ISO 639-1 code ("en"), "auto", or nothing; whisper.cpp then checks it knows the language. */
export function languageField(fields: FormFields, name = 'language'): string | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  const value = raw.toLowerCase();
  if (!LANGUAGE_CODE.test(value)) throw invalid(name, 'a language code such as "en" or "auto"', raw);
  return value;
}

export function textField(fields: FormFields, name: string, maxBytes: number): string | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  if (Buffer.byteLength(raw) > maxBytes) throw new HttpError(400, 'INVALID_PARAMETER', `Expected at most ${maxBytes} bytes for ${name}`, {}, { param: name });
  return raw;
}
