// The language list: Detect, then every language whisper.cpp knows, named by the browser
// (Intl.DisplayNames) so the page carries codes only, in alphabetical order.
import { languageName, WHISPER_LANGUAGES } from '../languages.js';

export function fillLanguages(select: HTMLSelectElement): void {
  let names: Intl.DisplayNames | null = null;
  try {
    names = new Intl.DisplayNames(['en'], { type: 'language' });
  } catch {
    // an old browser: the codes themselves
  }
  const options = WHISPER_LANGUAGES.map((code) => new Option(languageName(code, names), code));
  options.sort((a, b) => a.text.localeCompare(b.text, 'en'));
  select.append(...options);
}
