/**
 * Readable citations of the project's method notes: user-facing text (schema descriptions shown as hovers,
 * template descriptions in the picker) cites `docs/methods.md §A4`; a reader sees the section's title too —
 * `docs/methods.md §A4 “Objective: modified sub-trajectory balance without log Z”`. The titles are read from
 * the headings of docs/methods.md (`### A4. Title`, `## §C. Title`, `## Part B — Title`), the one source;
 * the build writes them to dist/methods-sections.json for the extension (docs/ is not in the VSIX).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Section id ("A4", "A6b", "C", "Part B") → heading title, from the markdown of docs/methods.md. */
export function methodsSections(markdown: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of markdown.split('\n')) {
    const sec = /^#{2,4}\s+§?([A-Z]\d*[a-z]?)\.\s+(.+?)\s*$/.exec(line);
    if (sec) out[sec[1]] = sec[2];
    const part = /^#{1,3}\s+Part ([A-Z])\s+[—–-]\s+(.+?)\s*$/.exec(line);
    if (part) out[`Part ${part[1]}`] = part[2];
  }
  return out;
}

/** The section titles of an installed extension (dist/methods-sections.json) or a checkout (docs/methods.md); {} if neither. */
export function methodsSectionsAt(root: string): Record<string, string> {
  try {
    const built = join(root, 'dist', 'methods-sections.json');
    if (existsSync(built)) return JSON.parse(readFileSync(built, 'utf8')) as Record<string, string>;
    const md = join(root, 'docs', 'methods.md');
    return existsSync(md) ? methodsSections(readFileSync(md, 'utf8')) : {};
  } catch {
    return {};
  }
}

// `docs/methods.md §A8, A9, B3`, `§A6/§A6b`, `§C`, `Part B`: ids after the file name, joined by ", " or "/"
const ID = String.raw`(?:§?[A-Z]\d+[a-z]?(?![\w])|§[A-Z](?![\w.]))`;
const CITATION = new RegExp(String.raw`docs/methods\.md (Part [A-Z]|${ID}(?:(?:, ?|/)${ID})*)`, 'g');

/**
 * `text` with every `docs/methods.md §X` citation followed by its section title(s) in quotes; ids without a
 * heading (a typo, a section renamed away) are left as written. Idempotent: a title already given is not repeated.
 */
export function citeWithTitles(text: string, sections: Record<string, string>): string {
  return text.replace(CITATION, (whole: string, ids: string, offset: number) => {
    const after = text.slice(offset + whole.length);
    if (/^ “/.test(after)) return whole; // already titled
    if (ids.startsWith('Part ')) return sections[ids] ? `${whole} “${sections[ids]}”` : whole;
    const parts = ids.split(/(, ?|\/)/);
    return (
      'docs/methods.md ' +
      parts
        .map((p) => {
          if (/^(, ?|\/)$/.test(p)) return p;
          const id = p.replace(/^§/, '');
          return sections[id] ? `${p} “${sections[id]}”` : p;
        })
        .join('')
    );
  });
}

/** Every string under `description` / `markdownDescription` keys of a JSON value, titled (for the editor schema). */
export function citeWithTitlesDeep<T>(value: T, sections: Record<string, string>): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key === 'description' || key === 'markdownDescription' ? citeWithTitles(v, sections) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value) as T;
}
