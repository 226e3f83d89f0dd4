// Shared by the e2e test files that drive the JS API directly: a ChatClient connected in its
// own browser context (`openClient`), with every event it receives recorded in the page, and a
// polling wait with a deadline (`eventually`).
//
// Each page also records its websockets (an observing subclass of the browser's WebSocket,
// installed before the SDK loads: it changes nothing, it only notes `test.ws.created` and
// `test.ws.closed` with the close code in the same ordered log as the SDK's events), so a test
// can tell a reconnect attempt from a state change and see the server's close codes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { watchPage, TIMEOUT } from './harness.mjs';

/** Retries `fn` (assertions inside) until it stops throwing, or rethrows its last error after
 * the deadline. Returns what `fn` returned. */
export async function eventually(what, fn, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      last.message = `${what}: not true within ${timeout} ms: ${last.message}`;
      throw last;
    }
    await delay(150);
  }
}

/** Runs before any page script: the log (`window.events`) and the websocket observer. */
function instrumentPage() {
  window.events = [];
  const Native = window.WebSocket;
  let n = 0;
  class ObservedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      const socket = ++n;
      window.events.push({ type: 'test.ws.created', socket });
      this.addEventListener('open', () => window.events.push({ type: 'test.ws.open', socket }));
      // Only the browser's own close event (never one dispatched by script).
      this.addEventListener('close', (e) => {
        if (e.isTrusted) window.events.push({ type: 'test.ws.closed', socket, code: e.code });
      });
    }
  }
  window.WebSocket = ObservedWebSocket;
}

/**
 * Opens a page at the server's origin, connects a ChatClient as `userId` in it and records
 * every event it receives in `window.events` (after the `test.ws.*` entries of its sockets).
 *
 * `env`: `{ browser, baseUrl, logs }` (`logs` collects the page's console for diagnostics).
 * `options`:
 *  - `apiKey`, `token`: credentials minted by the test; default: `/dev/credentials` (demo app).
 *  - `mint`: an async `() => token` run in the test process; the client then connects with a
 *    `tokenProvider` that calls it. Each call is logged as `test.provider.called`, and a call
 *    waits while the page's `window.holdProvider` promise is set.
 *  - `holdProvider`: start with `window.holdProvider` set; `window.releaseProvider()` lifts it.
 *  - `clock`: install Playwright's controllable clock before the page loads (time runs until
 *    the test pauses it).
 */
export async function openClient(env, userId, options = {}) {
  const { browser, baseUrl, logs } = env;
  const context = await browser.newContext();
  if (options.clock) await context.clock.install();
  const page = await context.newPage();
  watchPage(page, userId, logs);
  await page.addInitScript(instrumentPage);
  if (options.mint) await page.exposeFunction('mintToken', options.mint);
  await page.goto(`${baseUrl}/healthz`, { timeout: TIMEOUT });
  await page.evaluate(async ({ id, apiKey, token, provider, hold }) => {
    const { ChatClient } = await import('/js/index.js');
    let creds = { api_key: apiKey, user_id: id, token };
    if (!apiKey) {
      const r = await fetch(`/dev/credentials?user_id=${encodeURIComponent(id)}`);
      if (!r.ok) throw new Error(`credentials: HTTP ${r.status}`);
      creds = await r.json();
    }
    const opts = { apiUrl: location.origin, apiKey: creds.api_key, userId: creds.user_id, token: creds.token };
    window.holdProvider = null;
    window.releaseProvider = () => {};
    if (hold) {
      window.holdProvider = new Promise((r) => {
        window.releaseProvider = () => { window.holdProvider = null; r(); };
      });
    }
    if (provider) {
      opts.tokenProvider = async () => {
        window.events.push({ type: 'test.provider.called' });
        while (window.holdProvider) await window.holdProvider;
        return window.mintToken();
      };
    }
    const client = await ChatClient.connect(opts);
    window.client = client;
    client.on('*', (e) => {
      try { window.events.push(JSON.parse(JSON.stringify(e))); } catch { window.events.push({ type: e?.type }); }
    });
    window.handles = {};
    // One handle per cid, so listeners and state persist between calls.
    window.ch = (cid) => {
      if (!window.handles[cid]) {
        const i = cid.indexOf(':');
        window.handles[cid] = client.channel(cid.slice(0, i), cid.slice(i + 1));
      }
      return window.handles[cid];
    };
  }, { id: userId, apiKey: options.apiKey, token: options.token, provider: Boolean(options.mint), hold: Boolean(options.holdProvider) });

  const run = (fn, arg) => page.evaluate(async ([src, a]) => {
    // eslint-disable-next-line no-eval
    const f = (0, eval)(`(${src})`);
    try {
      const v = await f(a);
      return { ok: v === undefined ? null : JSON.parse(JSON.stringify(v)) };
    } catch (e) {
      return { err: { code: e?.code, status: e?.status, retryable: e?.retryable, message: String(e?.message ?? e) } };
    }
  }, [fn.toString(), arg]);

  return {
    userId,
    context,
    page,
    /** Runs `fn(arg)` in the page; resolves with its (JSON) result, throws on rejection. */
    async call(fn, arg) {
      const r = await run(fn, arg);
      if (r.err) {
        const e = new Error(`${userId}: ${fn.toString().slice(0, 120)} rejected: ${JSON.stringify(r.err)}`);
        Object.assign(e, { chat: r.err });
        throw e;
      }
      return r.ok;
    },
    /** Runs `fn(arg)` in the page, expecting it to reject; resolves with {code, status, retryable}. */
    async fail(fn, arg) {
      const r = await run(fn, arg);
      if (!r.err) assert.fail(`${userId}: ${fn.toString().slice(0, 120)} should have rejected, got ${JSON.stringify(r.ok)}`);
      return r.err;
    },
    /** The events received so far that match `pred(event, arg)` (pred runs in the page). */
    events(pred, arg) {
      return page.evaluate(([src, a]) => {
        // eslint-disable-next-line no-eval
        const p = (0, eval)(`(${src})`);
        return window.events.filter((e) => p(e, a));
      }, [pred.toString(), arg]);
    },
    /** Waits for an event matching `pred(event, arg)`; returns the first one. */
    async waitEvent(what, pred, arg) {
      return eventually(`${userId} receives ${what}`, async () => {
        const found = await this.events(pred, arg);
        assert.ok(found.length > 0, `no matching event among ${await page.evaluate(() => window.events.map((e) => e.type).join(', '))}`);
        return found[0];
      });
    },
    /** Marks the current end of the event log: `waitEvent` after it only sees newer events. */
    async clearEvents() { await page.evaluate(() => { window.events.length = 0; }); },
    async close() {
      try { await page.evaluate(() => window.client?.disconnect()); } catch { /* page may be gone */ }
      await context.close();
    },
  };
}

/**
 * Creates channel `messaging:<new id>` with `members` over REST from the test process, as
 * `ownerId` of the demo application (token from /dev/credentials). Creating it before the
 * members' clients connect means no client loads it twice at once: a connected member would
 * reload it on `notification.added_to_channel` while its own `watch()` is under way, and a
 * late answer of overlapping loads rolls the channel back (see overlapping_loads.test.mjs).
 */
export async function createChannel(baseUrl, ownerId, members, prefix = 'ch') {
  const credentials = async (u) => (await fetch(`${baseUrl}/dev/credentials?user_id=${encodeURIComponent(u)}`)).json();
  for (const m of members) await credentials(m);   // the demo endpoint creates the user
  const cred = await credentials(ownerId);
  const id = `${prefix}-${randomUUID().slice(0, 12)}`;
  const r = await fetch(`${baseUrl}/v1/channels/messaging/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': cred.api_key, authorization: `Bearer ${cred.token}` },
    body: JSON.stringify({ members: [...new Set([ownerId, ...members])] }),
  });
  assert.ok(r.ok, `creating ${id}: HTTP ${r.status} ${await r.text()}`);
  return { id, cid: `messaging:${id}` };
}

/**
 * Pauses the page's (installed) clock at about its current time. The time is read in the page
 * first, so on a loaded machine it can already be past when `pauseAt` runs: then it is read
 * again.
 */
export async function pauseClock(page) {
  for (let attempt = 0; ; attempt++) {
    const now = await page.evaluate(() => Date.now());
    try {
      await page.clock.pauseAt(now + 20);
      return;
    } catch (e) {
      if (attempt >= 10 || !String(e?.message).includes('past')) throw e;
    }
  }
}
