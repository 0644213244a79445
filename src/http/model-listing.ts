/**
 * GET /models is paged: `limit` (default 100, at most 1,000) entries in name order, then an
 * opaque `nextCursor` to ask for the page after. Pages are cut from a sorted index of the
 * listable names (ListingIndex), filtered by the caller's key as they are walked; only the
 * page's entries are reported and serialised. So a listing costs about as much as its answer,
 * however many names the gateway has served, and a key sees nothing it could not call.
 */
import { performance } from 'node:perf_hooks';
import type { Request } from 'express';
import { isValidModelName } from '../catalog.js';
import { gatewayError } from '../errors.js';

export const LISTING_DEFAULT_LIMIT = 100;
/** Large enough for any dashboard page, small enough that one answer stays well under 1 MB. */
export const LISTING_MAX_LIMIT = 1_000;

export interface ListingQuery {
  limit: number;
  /** Names up to and including this one were on earlier pages. */
  after: string | undefined;
}

function invalidParameter(parameter: string, detail: string) {
  return gatewayError('INVALID_REQUEST', detail, { extensions: { parameter } });
}

/** The cursor is the last name of a page, base64url-encoded: opaque to callers, cheap to check. */
export function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isValidModelName(name) || encodeCursor(name) !== cursor) {
    throw invalidParameter('cursor', 'cursor must be a nextCursor value from an earlier GET /models answer.');
  }
  return name;
}

/** Reads `limit` and `cursor` (the app's query parser is off: only these two are read, each at most once). */
export function readListingQuery(req: Request): ListingQuery {
  const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const params = new URLSearchParams(search);
  for (const name of ['limit', 'cursor']) {
    if (params.getAll(name).length > 1) throw invalidParameter(name, `${name} may be given once.`);
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? LISTING_DEFAULT_LIMIT : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= LISTING_MAX_LIMIT)) {
    throw invalidParameter('limit', `limit must be a whole number from 1 to ${LISTING_MAX_LIMIT}.`);
  }
  const cursor = params.get('cursor');
  return { limit, after: cursor === null ? undefined : decodeCursor(cursor) };
}

interface Listed<T> {
  name: string;
  value: T;
}

/**
 * The names a listing can show, sorted once and reused: rebuilt from its source at most once per
 * `maxAgeMs`, so a page costs a binary search and a walk over the entries it returns, not a pass
 * over every remembered model. The set of names can thus lag by up to `maxAgeMs`; each entry's
 * state is read live when the page is reported.
 */
export class ListingIndex<T> {
  private sorted: Array<Listed<T>> = [];
  private builtAt = -Infinity;

  constructor(
    /** Every listable entry, earlier ones winning when two share a name. */
    private readonly source: () => Iterable<Listed<T>>,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private entries(): ReadonlyArray<Listed<T>> {
    if (this.now() - this.builtAt >= this.maxAgeMs) {
      const byName = new Map<string, Listed<T>>();
      for (const entry of this.source()) if (!byName.has(entry.name)) byName.set(entry.name, entry);
      this.sorted = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.builtAt = this.now();
    }
    return this.sorted;
  }

  /** The `limit` first entries after the cursor that `include` keeps, and the cursor to the rest. */
  page(query: ListingQuery, include: (value: T) => boolean): { items: T[]; nextCursor: string | null } {
    const entries = this.entries();
    let index = 0;
    if (query.after !== undefined) {
      let high = entries.length;
      while (index < high) {
        const middle = (index + high) >>> 1;
        if (entries[middle]!.name <= query.after) index = middle + 1;
        else high = middle;
      }
    }
    const items: T[] = [];
    let last = '';
    for (; index < entries.length; index++) {
      const entry = entries[index]!;
      if (!include(entry.value)) continue;
      if (items.length === query.limit) return { items, nextCursor: encodeCursor(last) };
      items.push(entry.value);
      last = entry.name;
    }
    return { items, nextCursor: null };
  }
}
