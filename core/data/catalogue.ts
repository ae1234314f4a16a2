/**
 * One catalogue type for every dataset: item id <-> title. Ids are the dataset's own integer ids
 * (Amazon `items.tsv` ids, LastFM/Steam/MovieLens ids). Several ids may share one title (Amazon
 * merges titles by string, docs/methods.md §A2): `idsOf(title)` returns all of them.
 */
export class Catalogue {
  private readonly titleById = new Map<number, string>();
  private readonly idsByTitle = new Map<string, number[]>();
  private readonly idsByLowerTitle = new Map<string, number[]>();

  constructor(
    readonly name: string,
    entries: Iterable<[id: number, title: string]> = [],
  ) {
    for (const [id, title] of entries) this.add(id, title);
  }

  add(id: number, title: string): void {
    if (this.titleById.has(id)) throw new Error(`duplicate item id ${id} in catalogue ${this.name}`);
    this.titleById.set(id, title);
    const list = this.idsByTitle.get(title);
    if (list) list.push(id);
    else this.idsByTitle.set(title, [id]);
    const key = title.trim().toLowerCase();
    const lower = this.idsByLowerTitle.get(key);
    if (lower) lower.push(id);
    else this.idsByLowerTitle.set(key, [id]);
  }

  get size(): number {
    return this.titleById.size;
  }
  title(id: number): string | undefined {
    return this.titleById.get(id);
  }
  /** Title or throw a clear error. */
  titleOf(id: number): string {
    const t = this.titleById.get(id);
    if (t === undefined) throw new Error(`item id ${id} is not in catalogue ${this.name}`);
    return t;
  }
  idsOf(title: string): number[] {
    return this.idsByTitle.get(title) ?? [];
  }
  /** Case-insensitive, trimmed lookup (AFL lenient matching). */
  idsOfLenient(title: string): number[] {
    return this.idsByLowerTitle.get(title.trim().toLowerCase()) ?? [];
  }
  ids(): IterableIterator<number> {
    return this.titleById.keys();
  }
  entries(): IterableIterator<[number, string]> {
    return this.titleById.entries();
  }
  /** Distinct titles, in first-seen order. */
  titles(): string[] {
    return [...this.idsByTitle.keys()];
  }
}
