// File paths that come from outside (a client, a setting) must not carry control characters: a NUL
// cuts the path short in C code below us, and newlines or escapes forge log lines and terminal output.

// C0 controls (NUL included), DEL and the C1 controls.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTER.test(value);
}

/** What a refusal says about such a path, without echoing it. */
export const PATH_WITHOUT_CONTROLS = 'a path without NUL or other control characters';
