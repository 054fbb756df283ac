// Every language whisper.cpp knows, by code, in the order of its language table.
export const WHISPER_LANGUAGES = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr ' +
  'az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo ' +
  'tl mg as tt haw ln ha ba jw su yue'
).split(' ');

/** An English name for a whisper language code; whisper says "jw" where ISO 639 says "jv". */
export function languageName(code: string, names: { of(code: string): string | undefined } | null): string {
  try {
    return names?.of(code === 'jw' ? 'jv' : code) ?? code;
  } catch {
    return code;
  }
}
