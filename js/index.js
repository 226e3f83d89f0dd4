// The npm entry of chat-sdk: initialises the WebAssembly module once (pkg/chat_sdk_bg.wasm,
// built by `wasm-pack build --target web`, beside pkg/chat_sdk.js), re-exports the
// wasm-bindgen classes, and adds the REST methods that need no client-side state as thin
// wrappers over `client.request` (the Rust core adds the token, its refresh, and mutation ids)
// or, for changes, over the durable outbox (`client._mutate`).
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

// Wrap the generated static `connect` so it initialises the module first. The class itself is
// re-exported unchanged, so `client instanceof ChatClient` holds.
const wasmConnect = ChatClient.connect;
Object.defineProperty(ChatClient, 'connect', {
  configurable: true,
  writable: true,
  value: async function connect(options) {
    await ready();
    return wasmConnect.call(ChatClient, options);
  },
});

const enc = encodeURIComponent;
const query = (params) => {
  const parts = Object.entries(params || {})
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
};
const pick = (key) => (answer) => answer[key];
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

const path = (channel, rest = '') => `/v1/channels/${enc(channel.type)}/${enc(channel.id)}${rest}`;
// Channel changes go through the durable outbox (`_mutate`): queued with a mutation id,
// delivered in order once online, resolved with the server's answer.
const mutate = (channel, method, rest, body) =>
  channel._client()._mutate(channel.cid, method, path(channel, rest), body);
const post = (rest, key) => function (body) {
  const call = mutate(this, 'POST', rest, body);
  return key ? call.then(pick(key)) : call;
};

define(Channel, {
  _client() {
    if (!this.__client) throw new Error('channel handle without a client');
    return this.__client;
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

// Every Channel handle remembers its client so the wrappers above can call `request`.
const wasmChannel = ChatClient.prototype.channel;
define(ChatClient, {
  channel(type, id, data) {
    const channel = wasmChannel.call(this, type, id, data);
    channel.__client = this;
    return channel;
  },
});
const wasmQuery = ChatClient.prototype.queryChannels;
define(ChatClient, {
  async queryChannels(filter, sort, options) {
    const page = await wasmQuery.call(this, filter, sort, options);
    for (const channel of page) channel.__client = this;
    return page;
  },
});

export { ChatClient, Channel };
