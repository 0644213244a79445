import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import { GatewayError } from '../../src/errors.js';
import { LISTING_DEFAULT_LIMIT, ListingIndex, encodeCursor, readListingQuery } from '../../src/http/model-listing.js';

const query = (search: string) => readListingQuery({ originalUrl: `/models${search}` } as Request);

describe('model listing pages', () => {
  const names = Array.from({ length: 250 }, (_, i) => `m${i}`);
  const shuffled = [...names].sort(() => Math.random() - 0.5);
  let now = 0;
  let builds = 0;
  const source = shuffled.map((name) => ({ name, value: name }));
  const index = new ListingIndex<string>(
    () => {
      builds++;
      return source;
    },
    1_000,
    () => now,
  );

  it('walks every name once, in order, whatever order the source gives them in', () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { items, nextCursor } = index.page({ limit: 40, after }, () => true);
      assert.ok(items.length <= 40);
      seen.push(...items);
      if (nextCursor === null) break;
      after = query(`?cursor=${nextCursor}`).after;
    }
    assert.deepEqual(seen, [...names].sort());
  });

  it('fills a page from the entries the filter keeps, asking it only about the entries walked', () => {
    const asked: string[] = [];
    const { items, nextCursor } = index.page({ limit: 3, after: undefined }, (name) => (asked.push(name), name.endsWith('7')));
    assert.deepEqual(items, ['m107', 'm117', 'm127']);
    assert.notEqual(nextCursor, null);
    assert.ok(asked.length < names.length / 4, `the filter ran ${asked.length} times for a page of 3 out of ${names.length}`);
  });

  it('says there is no next page when the last one is exactly full', () => {
    assert.equal(index.page({ limit: names.length, after: undefined }, () => true).nextCursor, null);
    assert.notEqual(index.page({ limit: names.length - 1, after: undefined }, () => true).nextCursor, null);
  });

  it('sorts once per interval, not per page, and sees new names after it', () => {
    const before = builds;
    index.page({ limit: 5, after: undefined }, () => true);
    assert.equal(builds, before, 'a page within the interval reuses the index');
    source.push({ name: 'a-new-name', value: 'a-new-name' });
    assert.notEqual(index.page({ limit: 1, after: undefined }, () => true).items[0], 'a-new-name');
    now += 1_000;
    assert.equal(index.page({ limit: 1, after: undefined }, () => true).items[0], 'a-new-name');
    assert.equal(builds, before + 1);
  });

  it('lists a name given twice (catalog and state) once, the first one winning', () => {
    const twice = new ListingIndex<string>(() => [
      { name: 'b', value: 'catalog b' },
      { name: 'a', value: 'a' },
      { name: 'b', value: 'state b' },
    ]);
    assert.deepEqual(twice.page({ limit: 10, after: undefined }, () => true).items, ['a', 'catalog b']);
  });

  it('reads limit and cursor, and refuses anything else', () => {
    assert.deepEqual(query(''), { limit: LISTING_DEFAULT_LIMIT, after: undefined });
    assert.deepEqual(query(`?limit=5&cursor=${encodeCursor('churn')}`), { limit: 5, after: 'churn' });
    for (const bad of ['?limit=0', '?limit=1001', '?limit=-1', '?limit=1e2', '?limit=', '?cursor=', '?cursor=%2e%2e', '?limit=1&limit=1', `?cursor=${encodeCursor('a/b')}`]) {
      assert.throws(() => query(bad), (error: unknown) => error instanceof GatewayError && error.code === 'INVALID_REQUEST', bad);
    }
  });
});
