// The metric names a PromQL expression selects, read by a small lexer rather than a regular
// expression over the text: function and aggregation names, label names (in matchers, and in the
// lists after by, without, on, ignoring, group_left and group_right), keywords, durations, numbers,
// strings and comments are not metric names. promtool checks that an expression parses; this only
// has to find the vector selectors of one that does.

// Case-insensitive in PromQL, like the keywords below.
const AGGREGATIONS = ['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'];
const OPERATORS = ['and', 'or', 'unless', 'atan2', 'bool', 'offset'];
const LABEL_LISTS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'];
const NUMBERS = ['inf', 'nan'];
const KEYWORDS = new Set([...AGGREGATIONS, ...OPERATORS, ...LABEL_LISTS, ...NUMBERS]);

const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const DURATION = /(\d+(ms|[smhdwy]))+/y;
const NUMBER = /0[xX][0-9a-fA-F]+|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/y;
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*/y;

function matchAt(pattern: RegExp, text: string, at: number): string | null {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? null;
}

/** Index just past the string literal opening at `at` ("...", '...' with escapes, `...` raw). */
function skipString(text: string, at: number): number {
  const quote = text[at];
  let i = at + 1;
  while (i < text.length && text[i] !== quote) i += quote !== '`' && text[i] === '\\' ? 2 : 1;
  if (i >= text.length) throw new Error(`Unterminated string at ${at} in ${text}`);
  return i + 1;
}

/** The value of the string literal at `at`, escapes undone the way PromQL (Go) reads them for plain names. */
function stringValue(text: string, at: number): { value: string; end: number } {
  const end = skipString(text, at);
  const body = text.slice(at + 1, end - 1);
  return { value: text[at] === '`' ? body : body.replace(/\\(.)/g, '$1'), end };
}

/** Index of the first non-blank character from `at`. */
function skipBlanks(text: string, at: number): number {
  let i = at;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/** Index just past the bracket group opening at `at`, strings inside skipped. */
function skipGroup(text: string, at: number, open: string, close: string): number {
  let depth = 0;
  let i = at;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(text, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`Unclosed ${open} at ${at} in ${text}`);
}

/** The __name__="..." of a label matcher list `{...}` opening at `at`; other matchers are skipped. */
function namesInMatchers(text: string, at: number): { names: string[]; end: number } {
  const end = skipGroup(text, at, '{', '}');
  const names: string[] = [];
  let i = at + 1;
  while (i < end - 1) {
    MATCHER.lastIndex = i;
    const m = MATCHER.exec(text);
    if (!m) break;
    const quote = skipBlanks(text, MATCHER.lastIndex);
    const { value, end: after } = stringValue(text, quote);
    // A regular expression over names (=~) cannot be checked name by name: it is left out.
    if (m[1] === '__name__' && m[2] === '=') names.push(value);
    i = skipBlanks(text, after);
    if (text[i] === ',') i++;
  }
  return { names, end };
}

/** Metric names the expression selects, in order of appearance, each once. */
export function metricNamesInPromQL(expr: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '{') {
      const { names: found, end } = namesInMatchers(expr, i);
      names.push(...found);
      i = end;
    } else if (c === '[') {
      // A range or subquery: durations and a step, no names.
      i = skipGroup(expr, i, '[', ']');
    } else if (/[0-9.]/.test(c)) {
      const token = matchAt(DURATION, expr, i) ?? matchAt(NUMBER, expr, i);
      if (!token) throw new Error(`Unexpected ${JSON.stringify(c)} at ${i} in ${expr}`);
      i += token.length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const word = matchAt(IDENTIFIER, expr, i)!;
      i += word.length;
      const next = skipBlanks(expr, i);
      const keyword = word.toLowerCase();
      if (LABEL_LISTS.includes(keyword)) {
        // by (job, instance), group_left (version): label names. group_left alone takes none.
        if (expr[next] === '(') i = skipGroup(expr, next, '(', ')');
      } else if (KEYWORDS.has(keyword)) {
        // An aggregation's own parenthesis, a set operator, a number: nothing to record.
      } else if (expr[next] !== '(') {
        names.push(word);
      }
      // Otherwise a function call: its arguments are read as they come.
    } else {
      i++;
    }
  }
  return [...new Set(names)];
}
