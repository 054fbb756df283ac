// One error vocabulary for the whole project: every error talk2me throws on purpose carries a
// `code` callers branch on (the HTTP layer maps codes to statuses), and every "wrong value" message
// reads the same: "Expected X for Y but received Z".

/** The base of talk2me's own errors: a message for people and a stable `code` for programs. */
export class Talk2meError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** How a received value is shown in a message: strings quoted and cut, objects by their kind. */
export function describeValue(value: unknown, maxChars = 40): string {
  if (typeof value === 'string') return `"${value.length > maxChars ? `${value.slice(0, maxChars)}…` : value}"`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Throws a RangeError unless `bytes` is a whole, non-negative number of bytes. */
export function assertByteCount(bytes: unknown, name: string): asserts bytes is number {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(invalidValue(name, 'a non-negative integer byte count', bytes));
}

/** "Expected `expected` for `name` but received `actual`", with `actual` shown by describeValue. */
export function invalidValue(name: string, expected: string, actual: unknown): string {
  return `Expected ${expected} for ${name} but received ${describeValue(actual)}`;
}
