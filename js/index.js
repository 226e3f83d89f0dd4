// The npm entry of chat-sdk: initialises the WebAssembly module once (pkg/chat_sdk_bg.wasm,
// built by `wasm-pack build --target web`, beside pkg/chat_sdk.js), re-exports the
// wasm-bindgen classes, and adds to them every method that waits for I/O: `connect`, the
// channel and client methods, the REST methods that need no client-side state (thin wrappers
// over `client.request`: js/io.js's `Rest` adds the token and its refresh, the wasm mutation
// ids), and every change, queued in the durable outbox (`change`: the wasm checks it and shows
// its echo, the outbox stores and delivers it). Each asks the wasm at every step (`_host`); the
// decisions and the state are the wasm's.
import init, { ChatClient, Channel } from '../pkg/chat_sdk.js';

let initialising = null;

/** Resolves once the wasm module is instantiated (starts it on first call). */
export function ready() {
  if (initialising === null) {
    initialising = init().then(() => undefined);
    // Let a failed load be retried by the next call instead of caching the failure.
    initialising.catch(() => { initialising = null; });
  }
  return initialising;
}

// `ChatClient.connect`, in the steps the wasm offers (`_prepare`, `_new`, `_host`): the class
// itself is the generated one, so `client instanceof ChatClient` holds.
Object.defineProperty(ChatClient, 'connect', {
  configurable: true,
  writable: true,
  value: connect,
});

/**
 * Connects. Resolves once the server accepted the connection and the user stream's position is
 * known — or at once, also offline, when the device holds data from an earlier session (the
 * connection and the catch-up follow in the background). Rejects with the server's code for
 * bad credentials, `unavailable` when the server cannot be reached.
 */
async function connect(options) {
  await ready();
  // The socket's handshake and the store's open run side by side (a first visit creates the
  // database).
  const prepared = ChatClient._prepare(options);
  let store = prepared.store;
  let kind = 'memory';
  if (store instanceof Promise) {
    try {
      store = await store;
      kind = 'indexeddb';
    } catch (e) {
      console.warn('chat-sdk: IndexedDB unavailable, keeping data in memory:', e?.name, e?.message);
      store = prepared.fallback;
    }
  }
  const client = ChatClient._new(options, prepared, store, kind);
  try {
    let cached = false;
    if (!store.created) {
      try {
        cached = await restore(client, store, prepared.page);
      } catch (e) {
        console.warn('chat-sdk: could not read the cache:', e?.name, e?.message);
      }
    }
    // Offline with a cache, the session opens anyway; the connection asks again.
    const rest = client._host(REST);
    if (rest.token === 'pending') await rest.refresh('pending').catch((e) => { if (!cached) throw e; });
    const connected = new Promise((ok, no) => client._host(START, cached, (e) => (e ? no(e) : ok())));
    if (cached) {
      connected.catch(() => {});
      return client;
    }
    await connected;
    // Loads made after this are newer than the user stream's starting position.
    for (let i = 0; i < 500 && !client._host(POSITIONED); i++) await new Promise((r) => setTimeout(r, 10));
    return client;
  } catch (e) {
    client.free();   // releases the socket, its timers and the browser's signals
    throw e;
  }
}

/** Reads what the device holds for the user (one cold-start transaction, the user, the outbox
 * with the echoes of its sends) into the client; resolves with whether anything was cached. */
async function restore(client, store, page) {
  const cold = await store.coldStart(page);
  const user = await store.get('users', client.userId);
  const records = await client._host(OUTBOX).recover();
  const echoes = await Promise.all(records.map((r) => (r.op?.send ? store.get('messages', r.id) : undefined)));
  return client._host(RESTORE, [cold, user, records], echoes);
}

const enc = encodeURIComponent;
const query = (params) => {
  const parts = Object.entries(params || {})
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
};
const pick = (key) => (answer) => (answer == null ? undefined : answer[key]);
const define = (cls, methods) => {
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(cls.prototype, name, { value: fn, configurable: true, writable: true });
  }
};

define(ChatClient, {
  // users
  queryUsers(filter, options = {}) {
    return this.request('POST', '/v1/users/query', { filter, ...options });
  },
  updateUser(changes) {
    return this.request('PATCH', '/v1/me', changes).then(pick('user'));
  },
  // distinct channels (by member set)
  distinctChannel(type, members, data = {}) {
    return this.request('POST', `/v1/channels/${enc(type)}`, { ...data, members });
  },
  // messages
  getMessage(id) {
    return this.request('GET', `/v1/messages/${enc(id)}`).then(pick('message'));
  },
  pinMessage(id) {
    return this.request('POST', `/v1/messages/${enc(id)}/pin`, undefined, true).then(pick('message'));
  },
  unpinMessage(id) {
    return this.request('DELETE', `/v1/messages/${enc(id)}/pin`, undefined, true).then(pick('message'));
  },
  search(text, options = {}) {
    return this.request('POST', '/v1/search', { query: text, ...options });
  },
  // reads
  getUnreadCount() {
    return this.request('GET', '/v1/unread');
  },
  // devices
  addDevice(device) {
    return this.request('POST', '/v1/devices', device).then(pick('device'));
  },
  getDevices() {
    return this.request('GET', '/v1/devices').then(pick('devices'));
  },
  removeDevice(id) {
    return this.request('DELETE', `/v1/devices/${enc(id)}`).then(pick('removed'));
  },
});

// `_host(kind, a, b)` kinds (src/bindings/host.rs).
const DELIVER = 7, OUTBOX = 13, STORE = 14, HELD = 15, CHANGE = 16, REQUEST = 17, LOADING = 18,
  LOADED = 19, FROM_CACHE = 20, PUT_MESSAGES = 21, OLDER = 22, SET_PINNED = 23, CACHED_QUERY = 24,
  HANDLES = 25, LISTED = 26, EMIT = 10, DRAFT_QUEUED = 27, DRAFT = 28, DRAFTS = 29, DISCONNECT = 30,
  RESTORE = 32, REMOVE_DATABASE = 33, REST = 34, START = 35, POSITIONED = 36;

/** An SDK error made here (the wasm makes the others): `code`, `status`, `retryable`. */
const sdkError = (code, status, message) => Object.assign(new Error(message), { code, status, retryable: false });

/** A REST call as the user (`on`: a client or channel handle); see `ChatClient.request`. */
const request = async (on, method, path, body, mutation) =>
  on._host(REQUEST, [method, path, mutation], body);

/** Asks the server a channel query; every channel of the answer is loaded and cached. */
async function queryServer(client, body, more, key) {
  const answer = await request(client, 'POST', '/v1/channels/query', body);
  return client._host(LISTED, [more, key], answer);
}

define(ChatClient, {
  /**
   * Channels the user is a member of, matching `filter`, in `sort` order; their states are
   * loaded and kept current. `options.next` continues a previous page (the answer's `next`).
   * The same query answered before (in an earlier session, or now while offline), with every
   * channel held, answers at once (`fromCache`); the server's answer follows as
   * `channel_list.updated`. Once the server answered it in this session, an online client asks
   * the server.
   */
  async queryChannels(filter, sort, options) {
    const body = {};
    const given = { filter, sort, limit: options?.limit, next: options?.next };
    for (const [k, v] of Object.entries(given)) if (v != null) body[k] = v;
    const more = body.next != null;
    const key = `query:${JSON.stringify(body)}`;
    if (!more) {
      let list = this._host(CACHED_QUERY, key);
      if (list === true) list = (await this._host(STORE).get('meta', key).catch(() => undefined))?.value;
      const page = typeof list == 'string' ? this._host(HANDLES, list) : undefined;
      if (page) {
        queryServer(this, body, false, key).then(
          (channels) => this._host(EMIT, { type: 'channel_list.updated', channels }),
          () => {},
        );
        return page;
      }
    }
    return queryServer(this, body, more, key);
  },
  /** Closes the connection for good and releases the socket, timers and listeners (no event
   * is delivered after it resolves); `{clearCache: true}` also deletes everything stored on
   * this device for the user (sign-out), the outbox included. */
  async disconnect(options) {
    await new Promise((done) => this._host(DISCONNECT, done));
    if (!options?.clearCache) return;
    try {
      await this._host(STORE).clear();
      await this._host(REMOVE_DATABASE);
    } catch (e) {
      throw Object.assign(new Error(`storage: ${e?.name}: ${e?.message}`), { code: 'unavailable', status: 0, retryable: false });
    }
  },
  /** The caller's drafts, newest first (`{limit, next}`), kept on the device; while the
   * server cannot be reached, the first page comes from the device (`fromCache: true`). */
  async queryDrafts(options = {}) {
    try {
      const answer = await request(this, 'GET', `/v1/drafts${query({ limit: options.limit, next: options.next })}`);
      this._host(DRAFTS, answer);
      return answer;
    } catch (e) {
      if (!e.retryable || options.next != null) throw e;
      let drafts;
      try {
        drafts = await this._host(STORE).all('drafts', undefined, 'thread');
      } catch {
        throw e;
      }
      // Newest first, as the server lists them (RFC 3339 times sort as text).
      const at = (d) => d.updated_at || '';
      drafts.sort((a, b) => (at(a) > at(b) ? -1 : at(a) < at(b) ? 1 : 0));
      const limit = Math.min(Math.max(Math.trunc(options.limit ?? 30), 1), 100);
      return { drafts: drafts.slice(0, limit), fromCache: true };
    }
  },
  /** Any REST call of the API, authenticated as the user (`path` starts with `/v1/`). With
   * `mutation`, a fresh `mutation_id` is added so a retry is applied only once. */
  request(method, path, body, mutation) {
    return request(this, method, path, body, mutation);
  },
});

/**
 * Queues a change (`args`: what src/bindings/mutations.rs `prepare` takes) through `on` (a
 * client or channel handle): the wasm checks it (a refusal throws here, before anything is
 * stored) and shows its echo; the outbox stores the entry with the echo in one transaction and
 * resolves with the server's answer. A change of a message the client does not hold goes to
 * the server at once. `held`: the `[cid, message]` it is about.
 */
async function change(on, args, held) {
  const plan = on._host(CHANGE, args, held);
  if (plan.now) return on._host(DELIVER, plan.now);
  return on._host(OUTBOX).enqueue(plan.entry, plan.echo);
}

/** A change of message `args[1]`, found in the state or else on the device. */
async function messageChange(client, args) {
  let held = client._host(HELD, args[1]);
  if (!held) {
    const stored = await client._host(STORE).get('messages', args[1]).catch(() => undefined);
    if (stored && stored.cid) held = [stored.cid, stored];
  }
  return change(client, args, held);
}

define(ChatClient, {
  updateMessage(id, changes) {
    return messageChange(this, ['edit', id, changes]).then(pick('message'));
  },
  deleteMessage(id, options = {}) {
    return messageChange(this, ['delete', id, options]).then(pick('message'));
  },
  sendReaction(messageId, type, options = {}) {
    return messageChange(this, ['react', messageId, type, true, Boolean(options.enforceUnique)]);
  },
  deleteReaction(messageId, type) {
    return messageChange(this, ['react', messageId, type, false, false]);
  },
});

const path = (channel, rest = '') => `/v1/channels/${enc(channel.type)}/${enc(channel.id)}${rest}`;
// Channel changes go through the durable outbox: queued with a mutation id, delivered in order
// once online, resolved with the server's answer.
const mutate = (channel, method, rest, body) =>
  change(channel, ['call', channel.cid, method, path(channel, rest), body]);
const post = (rest, key) => function (body) {
  const call = mutate(this, 'POST', rest, body);
  return key ? call.then(pick(key)) : call;
};

/** Loads the channel's state from the server (`create`, `watch`): it becomes `channel.state`. */
async function load(channel, method, rest, body) {
  channel._host(LOADING, channel.cid);
  let state;
  try {
    state = await request(channel, method, path(channel, rest), body);
  } catch (e) {
    channel._host(LOADED, channel.cid);
    throw e;
  }
  channel._host(LOADED, channel.cid, state);
  return state;
}

const MESSAGE_QUERY = ['limit', 'before_seq', 'after_seq', 'around_id'];
const pageQuery = (q = {}) => query(Object.fromEntries(MESSAGE_QUERY.map((k) => [k, q[k]])));

define(Channel, {
  /** Gets or creates the channel (idempotent, with the `data` given to `client.channel`) and
   * loads its state. */
  create() {
    return load(this, 'POST', '', this._data);
  },
  /** Starts watching and loads the state. A channel opened from the cache answers at once
   * (`from_cache: true`) and is loaded in the background; its events bring it up to date. */
  watch() {
    const cached = this._host(FROM_CACHE, this.cid);
    if (!cached) return load(this, 'POST', '/watch');
    load(this, 'POST', '/watch').catch(() => {});
    return Promise.resolve(cached);
  },
  stopWatching() {
    return request(this, 'POST', path(this, '/stop-watching'));
  },
  /** A page of messages, oldest first, merged into the state. Older history (`before_seq`)
   * read online is cached; while the server cannot be reached such a page comes from the
   * device where it holds one, marked `fromCache: true` (shorter where the cache ends). */
  async queryMessages(q = {}) {
    const before = q.before_seq;
    let messages;
    try {
      messages = (await request(this, 'GET', path(this, `/messages${pageQuery(q)}`))).messages || [];
    } catch (e) {
      if (typeof before != 'number' || !e.retryable || before <= 1) throw e;
      const limit = Math.min(Math.max(Math.trunc(q.limit ?? 50), 1), 200);
      const cached = await this._host(STORE).page('by_seq', this.cid, 0, before, limit, true).catch(() => []);
      if (!cached.length) throw e;
      this._host(PUT_MESSAGES, this.cid, cached);
      return Object.assign(cached, { fromCache: true });
    }
    if (typeof before == 'number') this._host(OLDER, [this.cid, before], messages);
    this._host(PUT_MESSAGES, this.cid, messages);
    return messages;
  },
  /** The replies to `parentId`, oldest first, merged into `state.threads`. */
  async replies(parentId, q) {
    const answer = await request(this, 'GET', `/v1/messages/${enc(parentId)}/replies${pageQuery(q)}`);
    const messages = answer.messages || [];
    this._host(PUT_MESSAGES, this.cid, messages);
    return messages;
  },
  /** Pinned messages, most recently pinned first; also becomes `state.pinned`. */
  async pinnedMessages(limit) {
    const answer = await request(this, 'GET', path(this, `/pinned${query({ limit })}`));
    const messages = answer.messages || [];
    this._host(SET_PINNED, this.cid, messages);
    return messages;
  },
  /**
   * The caller's draft of this channel (or of the thread `parentId`): the device's copy while
   * a change of it is queued (it is the newest), else the server's (kept on the device), else —
   * when the server cannot be reached — the device's copy.
   */
  async getDraft(parentId) {
    const key = [this.cid, parentId];
    const noDraft = () => sdkError('not_found', 404, 'there is no draft here');
    const stored = async () => {
      const draft = await this._host(STORE).get('drafts', [this.cid, parentId ?? ''], 'thread').catch(() => undefined);
      if (!draft) throw noDraft();
      return draft;
    };
    const queued = async () => this._host(DRAFT_QUEUED, key, await this._host(OUTBOX).entries().catch(() => []));
    if (await queued()) return stored();
    let answer, error;
    try {
      answer = await request(this, 'GET', path(this, `/draft${query({ parent_id: parentId })}`));
    } catch (e) {
      error = e;
    }
    // Changed meanwhile: the device's copy is newer than the answer.
    if (await queued()) return stored();
    if (!error) {
      if (!answer?.draft) throw noDraft();
      this._host(DRAFT, key, answer.draft);
      return answer.draft;
    }
    if (error.code === 'not_found') this._host(DRAFT, key);
    else if (error.retryable) return stored().catch(() => { throw error; });
    throw error;
  },
  sendMessage(message) {
    return change(this, ['send', this.cid, message]).then(pick('message'));
  },
  markRead(messageId) {
    return change(this, ['read', this.cid, messageId]).then(pick('read'));
  },
  markUnread(messageId) {
    return mutate(this, 'POST', '/unread', { message_id: messageId }).then(pick('read'));
  },
  update(data) {
    return mutate(this, 'PUT', '', data).then(pick('channel'));
  },
  updatePartial(set = {}, unset = []) {
    return mutate(this, 'PATCH', '', { set, unset }).then(pick('channel'));
  },
  delete() {
    return mutate(this, 'DELETE', '').then(pick('channel'));
  },
  freeze: function () { return post('/freeze', 'channel').call(this); },
  unfreeze: function () { return post('/unfreeze', 'channel').call(this); },
  enableSlowMode(seconds) { return this.updatePartial({ slow_mode: seconds }); },
  disableSlowMode() { return this.updatePartial({ slow_mode: 0 }); },
  truncate(options = {}) { return post('/truncate', 'channel').call(this, options); },
  hide: function () { return post('/hide', 'member').call(this); },
  show: function () { return post('/show', 'member').call(this); },
  mute: function () { return post('/mute', 'member').call(this); },
  unmute: function () { return post('/unmute', 'member').call(this); },
  addMembers(userIds) { return post('/members', 'members').call(this, { user_ids: userIds }); },
  removeMembers(userIds) { return post('/members/remove').call(this, { user_ids: userIds }); },
  leave: function () { return post('/leave').call(this); },
  setRole(userId, role) { return post('/members/role', 'member').call(this, { user_id: userId, role }); },
  inviteMembers(userIds) { return post('/invite', 'members').call(this, { user_ids: userIds }); },
  acceptInvite: function () { return post('/invite/accept', 'member').call(this); },
  rejectInvite: function () { return post('/invite/reject', 'member').call(this); },
  banUser(userId, options = {}) {
    return post('/ban', 'member').call(this, { user_id: userId, expires_in: options.expiresIn, shadow: options.shadow });
  },
  shadowBan(userId, options = {}) { return this.banUser(userId, { ...options, shadow: true }); },
  unbanUser(userId) { return post('/unban', 'member').call(this, { user_id: userId }); },
  saveDraft(draft) { return post('/draft', 'draft').call(this, draft); },
  deleteDraft(parentId) {
    return mutate(this, 'DELETE', `/draft${query({ parent_id: parentId })}`).then(pick('deleted'));
  },
});

export { ChatClient, Channel };
