// Type-checks every public method of the SDK's declarations (tsc --noEmit; never run).
import { ChatClient, Channel, ready } from '../../js/index.js';
import type {
  ChatError, Message, ChannelLocalState, ChannelPage, UnreadCount, ReadState, Draft, Device,
  OutboxEntryInfo, ErrorCode, ChatClientOptions,
} from '../../js/index.js';

export async function usage(): Promise<void> {
  await ready();
  const client: ChatClient = await ChatClient.connect({
    apiUrl: 'http://127.0.0.1:8080',
    apiKey: 'demo',
    userId: 'alice',
    tokenProvider: async () => 'token',
  });
  const id: string = client.userId;
  const state: string = client.connectionState;
  const me = client.user?.display_name;
  const list: string[] = client.channelList;
  const unread: UnreadCount = client.unreadCount;
  const off = client.on('message.new', (e) => { const m: Message = e.message; void m; });
  const persistence: ChatClientOptions["persistence"] = "memory";
  void persistence;
  client.on('connection.recovered', (e) => { const t: 'connection.recovered' = e.type; void t; });
  client.on('typing.start', (e) => { const u: string = e.user_id; void u; });
  client.on('*', (e) => { void e.type; });
  off();

  const page: ChannelPage = await client.queryChannels(
    { type: 'messaging', members: { $in: ['alice'] }, frozen: false },
    [{ field: 'last_message_at', direction: -1 }],
    { limit: 10 },
  );
  const next: string | undefined = page.next;
  const channel: Channel = client.channel('messaging', 'general', { name: 'General', members: ['bob'] });
  await channel.create();
  await channel.watch();
  const local: ChannelLocalState = channel.state;
  const first: Message | undefined = local.messages[0];
  const typing = local.typing.map((t) => t.user_id);
  const watchers: number = local.watcherCount;
  await channel.stopWatching();
  const sent = await channel.sendMessage({ text: 'hi', mentions: ['bob'], silent: false });
  await channel.sendMessage({ text: 'later', scheduled_for: '2030-01-01T00:00:00Z' });
  await channel.sendMessage({ text: 'reply', parent_id: sent.id, quoted_message_id: sent.id });
  const olderPage = await channel.queryMessages({ limit: 20, before_seq: 10 });
  const pagedFromCache: boolean = olderPage.fromCache ?? false;
  void pagedFromCache;
  await channel.queryMessages({ around_id: sent.id });
  await channel.replies(sent.id, { limit: 10 });
  await channel.pinnedMessages(10);
  const read: ReadState = await channel.markRead();
  await channel.markUnread(sent.id);
  channel.keystroke();
  channel.keystroke(sent.id);
  channel.stopTyping();
  await channel.update({ name: 'x' });
  await channel.updatePartial({ description: 'd' }, ['avatar_url']);
  await channel.freeze();
  await channel.unfreeze();
  await channel.enableSlowMode(10);
  await channel.disableSlowMode();
  await channel.truncate({ message: { text: 'cleared' } });
  await channel.hide();
  await channel.show();
  await channel.mute();
  await channel.unmute();
  await channel.addMembers(['carol']);
  await channel.removeMembers(['carol']);
  await channel.setRole('bob', 'moderator');
  await channel.inviteMembers(['dave']);
  await channel.acceptInvite();
  await channel.rejectInvite();
  await channel.banUser('eve', { expiresIn: 60 });
  await channel.shadowBan('eve');
  await channel.unbanUser('eve');
  const draft: Draft = await channel.saveDraft({ text: 'wip' });
  await channel.getDraft();
  const deleted: boolean = await channel.deleteDraft();
  channel.on('message.updated', (e) => { void e.message.text; });
  channel.on('*', (e) => { void e.type; });
  await channel.leave();
  await channel.delete();
  channel.free();

  await client.distinctChannel('messaging', ['bob']);
  await client.queryUsers({ prefix: 'a' }, { limit: 5, sort: 'id' });
  await client.updateUser({ display_name: 'Alice', bio: null });
  client.setPresence('away');
  await client.getMessage(sent.id);
  await client.updateMessage(sent.id, { text: 'edited' });
  await client.pinMessage(sent.id);
  await client.unpinMessage(sent.id);
  const r = await client.sendReaction(sent.id, 'like', { enforceUnique: true });
  // undefined when it cancelled a still-unsent change (offline add then remove).
  if (r) await client.deleteReaction(sent.id, r.reaction.type);
  await client.deleteMessage(sent.id, { hard: true });
  const found = await client.search('deploy', { limit: 5 });
  const total: number = (await client.getUnreadCount()).total_unread_count;
  await client.queryDrafts({ limit: 5 });
  const device: Device = await client.addDevice({ id: 'd1', push_provider: 'webpush', push_token: 't' });
  await client.getDevices();
  await client.removeDevice(device.id);
  await client.request('GET', '/v1/me');
  // Offline: where data lives, the outbox, refusals, progress.
  const where: 'indexeddb' | 'memory' = client.persistence;
  void where;
  const queued: OutboxEntryInfo[] = await client.pending();
  for (const e of queued) {
    if (e.state === 'failed' && e.code === 'forbidden') await client.discard(e.id);
    else if (e.state === 'failed') await client.retry(e.id);
  }
  client.on('outbox.changed', (e) => { const n: number = e.pending + e.failed; void n; });
  client.on('outbox.failed', (e) => { const code: ErrorCode = e.code; void code; });
  client.on('sync.progress', (e) => { const more: boolean = e.more; void e.events; void more; });
  client.on('channel_list.updated', (e) => { const cached: boolean | undefined = e.channels.fromCache; void cached; });
  const again = await client.queryChannels();
  const fromCache: boolean | undefined = again.fromCache;
  void fromCache;
  const watched = await client.channel('messaging', 'x').watch();
  const cachedState: boolean | undefined = watched.from_cache;
  void cachedState;
  await client.disconnect({ clearCache: true });
  try {
    await client.disconnect();
  } catch (e) {
    const err = e as ChatError;
    const retry: boolean = err.retryable && err.status > 0 && err.code === 'rate_limited';
    void retry;
  }
  client.free();
  void [id, state, me, list, unread, next, first, typing, watchers, read, draft, deleted, found, total];
}
