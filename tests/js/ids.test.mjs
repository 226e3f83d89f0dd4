// js/io.js: the client-chosen ids are uuid v4 in lower case, from crypto.randomUUID or, where
// the page is not a secure context (no randomUUID), built from crypto.getRandomValues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../js/io.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('ids are lower-case uuid v4, with and without crypto.randomUUID', () => {
  const insecure = { getRandomValues: (a) => globalThis.crypto.getRandomValues(a) };
  for (const make of [() => newId(), () => newId(insecure)]) {
    const ids = new Set();
    for (let i = 0; i < 2000; i++) {
      const id = make();
      assert.match(id, V4);
      ids.add(id);
    }
    assert.equal(ids.size, 2000, 'no id repeats');
  }
});

test('without randomUUID every bit but the version and variant comes from getRandomValues', () => {
  const fixed = (byte) => ({ getRandomValues: (a) => a.fill(byte) });
  assert.equal(newId(fixed(0x00)), '00000000-0000-4000-8000-000000000000');
  assert.equal(newId(fixed(0xff)), 'ffffffff-ffff-4fff-bfff-ffffffffffff');
});
