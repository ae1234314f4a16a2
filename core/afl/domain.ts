/**
 * Steam and MovieLens prompt packs (docs/methods.md §B5): never released, so derived from the LastFM pack by
 * swapping the domain words (music artist -> game / movie; listened -> played / watched). The files
 * core/afl/packs/{steam,movielens}.json are this function's output (a test keeps them in sync), so a
 * person may still edit them by hand after copying.
 */
export type PackDomain = 'lastfm' | 'steam' | 'movielens';

/** A domain's words for the LastFM pack's music words (`listen` as its verb in each form). */
interface DomainWords {
  listener: string;
  items: string;
  item: string;
  listening: string;
  listened: string;
  listen: string;
}

/** The swaps, longest phrases first ("listened to" -> the past tense alone, as "listen to" -> the verb). */
function swapsTo(w: DomainWords): [RegExp, string][] {
  return [
    [/music listener/g, w.listener],
    [/music artists/g, w.items],
    [/music artist/g, w.item],
    [/listening/g, w.listening],
    [/listened to/g, w.listened],
    [/listened/g, w.listened],
    [/listen to/g, w.listen],
    [/listen/g, w.listen],
  ];
}

/** Ordered word swaps (longest phrases first), applied to every template and the description. */
export const DOMAIN_SWAPS: Record<Exclude<PackDomain, 'lastfm'>, [RegExp, string][]> = {
  steam: swapsTo({ listener: 'game player', items: 'games', item: 'game', listening: 'playing', listened: 'played', listen: 'play' }),
  movielens: swapsTo({
    listener: 'movie watcher',
    items: 'movies',
    item: 'movie',
    listening: 'watching',
    listened: 'watched',
    listen: 'watch',
  }),
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
