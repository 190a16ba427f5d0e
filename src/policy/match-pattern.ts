/**
 * Matching of policy values: exact unless written `glob:PATTERN`. In a glob, `*` matches within a
 * `/`-separated segment, `**` matches across segments, `?` matches one character; everything else
 * is literal. No regular expression is built from user input; the matcher is a memoised
 * recursion over (pattern position, value position): at most p*v states, each star state trying
 * up to v continuations, so O(p*v^2) time worst case and O(p*v) memory, with p <= 512 and
 * v <= 4096 (longer inputs never match), and recursion at most p + v deep.
 */

/** The prefix that turns a policy value into a glob. */
export const GLOB_PREFIX = 'glob:';

function globMatch(pattern: string, value: string): boolean {
  // Recursive matcher with memoisation over (pattern index, value index), see the header.
  const memo = new Map<number, boolean>();
  const width = value.length + 1;
  const match = (p: number, v: number): boolean => {
    const key = p * width + v;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    if (p === pattern.length) result = v === value.length;
    else if (pattern.startsWith('**', p)) {
      result = false;
      for (let next = v; next <= value.length && !result; next++) result = match(p + 2, next);
    } else if (pattern[p] === '*') {
      result = false;
      for (let next = v; next <= value.length && !result; next++) {
        result = match(p + 1, next);
        if (value[next] === '/') break;
      }
    } else if (pattern[p] === '?') result = v < value.length && value[v] !== '/' && match(p + 1, v + 1);
    else result = v < value.length && pattern[p] === value[v] && match(p + 1, v + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

/** Does `value` match the policy `pattern`? An absent value never matches. */
export function matchPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (!pattern.startsWith(GLOB_PREFIX)) return pattern === value;
  const glob = pattern.slice(GLOB_PREFIX.length);
  if (glob === '' || glob.length > 512 || value.length > 4096) return false;
  return globMatch(glob, value);
}
