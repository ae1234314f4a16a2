/**
 * Steam and MovieLens prompt packs (docs/methods.md §B5): never released, so derived from the LastFM pack by
 * swapping the domain words (music artist -> game / movie; listened -> played / watched). The files
 * core/afl/packs/{steam,movielens}.json are this function's output (a test keeps them in sync), so a
 * person may still edit them by hand after copying.
 */
export type PackDomain = 'lastfm' | 'steam' | 'movielens';

/** Ordered word swaps (longest phrases first), applied to every template and the description. */
export const DOMAIN_SWAPS: Record<Exclude<PackDomain, 'lastfm'>, [RegExp, string][]> = {
  steam: [
    [/music listener/g, 'game player'],
    [/music artists/g, 'games'],
    [/music artist/g, 'game'],
    [/listening/g, 'playing'],
    [/listened to/g, 'played'],
    [/listened/g, 'played'],
    [/listen to/g, 'play'],
    [/listen/g, 'play'],
  ],
  movielens: [
    [/music listener/g, 'movie watcher'],
    [/music artists/g, 'movies'],
    [/music artist/g, 'movie'],
    [/listening/g, 'watching'],
    [/listened to/g, 'watched'],
    [/listened/g, 'watched'],
    [/listen to/g, 'watch'],
    [/listen/g, 'watch'],
  ],
};

function swap(text: string, domain: Exclude<PackDomain, 'lastfm'>): string {
  let t = text;
  for (const [re, to] of DOMAIN_SWAPS[domain]) t = t.replace(re, to);
  return t;
}

/** The LastFM pack JSON with the domain words swapped (templates kept as strings or line arrays). */
export function deriveDomainPackJson(lastfm: Record<string, unknown>, domain: Exclude<PackDomain, 'lastfm'>): Record<string, unknown> {
  const templates: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(lastfm.templates as Record<string, string | string[]>)) {
    templates[k] = Array.isArray(v) ? v.map((l) => swap(l, domain)) : swap(v, domain);
  }
  return {
    ...lastfm,
    name: domain,
    description:
      `${domain === 'steam' ? 'Steam' : 'MovieLens'} prompt pack derived from the LastFM pack by the word swaps of docs/methods.md §B5 (${DOMAIN_SWAPS[domain].map(([re, to]) => `${re.source} -> ${to}`).join('; ')}). ${(lastfm.description as string | undefined) ?? ''}`.trim(),
    // the LastFM pack's deviations from the seed text, quoted in its words (they describe the text before the swaps)
    ...(Array.isArray(lastfm.deviations)
      ? { deviations: lastfm.deviations.map((d: string) => `In the LastFM pack these templates are derived from: ${d}`) }
      : {}),
    templates,
  };
}
