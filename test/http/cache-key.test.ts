/**
 * The cache key is remembered for the targets a route is asked most; the key must be the same
 * whether it was remembered, too long to remember, or forgotten when the memory of them
 * filled up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey } from '../../src/http/response-cache.js';

test('a query in any order gives the key of its sorted pairs, asked once or again', () => {
  assert.equal(cacheKey('/f?b=2&a=1&a=0'), '/f?a=0&a=1&b=2');
  assert.equal(cacheKey('/f?b=2&a=1&a=0'), '/f?a=0&a=1&b=2');
  assert.equal(cacheKey('/f?name=Ada%20B'), '/f?name=Ada+B');
  assert.equal(cacheKey('/f'), '/f');
  assert.equal(cacheKey('/f?'), '/f', 'an empty query is no query');
});

test('a target too long to remember, and targets past the most remembered, give the same keys', () => {
  const names = Array.from({ length: 40 }, (_, n) => `k${n}`);
  const long = `z=1&${names.map((name) => `${name}=${'v'.repeat(10)}`).join('&')}`;
  const expected = `/f?${[...names].sort().map((name) => `${name}=${'v'.repeat(10)}`).join('&')}&z=1`;
  assert.equal(cacheKey(`/f?${long}`), expected);
  assert.equal(cacheKey(`/f?${long}`), expected, 'asked again');
  // More distinct queries than are remembered: the memory of them is emptied along the way.
  for (let n = 0; n < 5_000; n++) assert.equal(cacheKey(`/f?y=${n}&x=${n}`), `/f?x=${n}&y=${n}`);
  assert.equal(cacheKey('/f?y=0&x=0'), '/f?x=0&y=0', 'a target forgotten gives its key again');
});
