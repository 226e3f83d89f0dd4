// Types of the chat-sdk npm package (js/index.js). Wire objects use the server's snake_case
// field names, exactly as they arrive.

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'reconnecting' | 'closed';

/** Application-defined JSON data. */
export type Metadata = Record<string, unknown>;

export interface ChatClientOptions {
  /** REST base of the chat server, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  apiKey: string;
  userId: string;
  /** The user's token (a JWT minted by your backend). Optional with `tokenProvider`. */
  token?: string;
  /** Called for a fresh token when the server says the token expired (and for the first
   * token when `token` is absent). */
  tokenProvider?: () => Promise<string> | string;
  /** Identifies this device or tab to the server. */
  deviceId?: string;
  /** Where to keep data on the device: IndexedDB (the default; falls back to memory where
   * IndexedDB is unavailable), or `'memory'` / `false` to keep nothing across reloads. */
  persistence?: 'indexeddb' | 'memory' | false;
}

/** One change waiting in the durable outbox (`client.pending()`). */
export interface OutboxEntryInfo {
  /** The change's id: a message id for a send; pass it to `retry()` / `discard()`. */
  id: string;
  cid: string;
  kind: 'send' | 'edit' | 'delete' | 'add_reaction' | 'remove_reaction' | 'mark_read' | 'call';
  state: 'pending' | 'in_flight' | 'failed';
  attempts: number;
  /** The server's error code when `state` is `failed`. */
  code?: ErrorCode;
  message?: string;
}

export interface User {
  id: string;
  username?: string;
  display_name?: string;
  avatar_url?: string;
  bio?: string;
  user_type: string;
  metadata: Metadata;
  is_online: boolean;
  is_deactivated?: boolean;
  last_seen_at?: string;
  created_at: string;
  updated_at: string;
}

/** A channel as the server describes it. */
export interface ChannelInfo {
  cid: string;
  id: string;
  type: string;
  name?: string;
  description?: string;
  avatar_url?: string;
  metadata: Metadata;
  is_frozen?: boolean;
  created_by?: string;
  created_at: string;
  updated_at: string;
  last_message_at?: string;
  /** The channel's latest sequence number. */
  last_seq: number;
  member_count: number;
  is_distinct?: boolean;
  slow_mode?: number;
  cooldown?: number;
  settings?: Metadata;
  team?: string;
  truncated_at?: string;
  deleted_at?: string;
}

export interface ChannelMember {
  user_id: string;
  user?: User;
  role: 'owner' | 'admin' | 'moderator' | 'member';
  joined_at: string;
  unread_count: number;
  last_read_at?: string;
  is_muted?: boolean;
  is_hidden?: boolean;
  banned?: boolean;
  ban_expires_at?: string;
  invited?: boolean;
  invite_accepted_at?: string;
  invite_rejected_at?: string;
}

export interface Reaction { message_id: string; user_id: string; type: string; created_at: string }

export interface ReadState {
  cid: string;
  user_id: string;
  last_read_seq: number;
  last_read_at?: string;
  last_read_message_id?: string;
  unread_count: number;
}

export interface Draft {
  cid: string;
  parent_id?: string;
  text: string;
  attachments: Metadata[];
  mentions: string[];
  created_at: string;
  updated_at: string;
}

export interface Device {
  id: string;
  push_provider: 'fcm' | 'apns' | 'webpush';
  push_token: string;
  platform?: 'android' | 'ios' | 'web';
  last_active_at?: string;
  registered_at: string;
}

export interface Message {
  id: string;
  cid: string;
  channel_seq: number;
  user_id: string;
  user?: User;
  text: string;
  type: string;
  status: string;
  parent_id?: string;
  quoted_message_id?: string;
  attachments: Metadata[];
  mentions: string[];
  metadata: Metadata;
  is_silent?: boolean;
  is_pinned?: boolean;
  is_edited?: boolean;
  is_deleted?: boolean;
  created_at: string;
  updated_at: string;
  reply_count?: number;
  reaction_counts?: Record<string, number>;
  latest_reactions?: Reaction[];
  own_reactions?: Reaction[];
  quoted_message?: Message;
  pinned_at?: string;
  pinned_by?: string;
  edited_at?: string;
  deleted_at?: string;
  scheduled_for?: string;
  /** Local echoes only (`status` `sending` or `failed`): the server's refusal. */
  error?: { code: ErrorCode; message: string };
}

export interface ChannelStateResponse {
  channel: ChannelInfo;
  members: ChannelMember[];
  /** The latest messages, oldest first. */
  messages: Message[];
  membership?: ChannelMember;
  watcher_count?: number;
  online_count?: number;
  /** Answered from the device's cache; the server's answer follows as events. */
  from_cache?: boolean;
}
/** @deprecated use ChannelStateResponse */
export type ChannelState = ChannelStateResponse;

/** `channel.state`: the live local state. */
export interface ChannelLocalState {
  channel?: ChannelInfo;
  /** Oldest first; local echoes (status `sending`/`failed`) last. */
  messages: Message[];
  /** Replies by parent message id. */
  threads: Record<string, Message[]>;
  /** Most recently pinned first. */
  pinned: Message[];
  members: Record<string, ChannelMember>;
  read: Record<string, ReadState>;
  membership?: ChannelMember;
  unreadCount: number;
  typing: { user_id: string; parent_id?: string }[];
  watcherCount: number;
  deleted: boolean;
}

export interface UnreadCount { total_unread_count: number; unread_channels: number }
export interface UnreadResponse extends UnreadCount { channels: ReadState[] }

type Cmp<T> = T | { $eq: T } | { $in: T[] };
type Range = { $gt?: string; $gte?: string; $lt?: string; $lte?: string };
export interface ChannelFilter {
  type?: Cmp<string>;
  id?: Cmp<string>;
  cid?: Cmp<string>;
  team?: Cmp<string>;
  members?: { $in: string[] } | { $all: string[] };
  frozen?: boolean;
  hidden?: boolean;
  muted?: boolean;
  last_message_at?: Range;
  created_at?: Range;
  metadata?: Record<string, unknown>;
}
export interface ChannelSort {
  field: 'last_message_at' | 'created_at' | 'updated_at' | 'unread';
  direction: 1 | -1;
}
export interface QueryChannelsOptions { limit?: number; next?: string }
/** `fromCache`: answered from the device's cache; `channel_list.updated` brings the server's. */
export type ChannelPage = Channel[] & { next?: string; fromCache?: boolean };

export interface UserFilter {
  id_in?: string[];
  prefix?: string;
  user_type?: 'regular' | 'anonymous' | 'guest';
  online?: boolean;
  team?: string;
}
export interface QueryUsersOptions { sort?: 'id' | 'created_at' | '-created_at'; limit?: number; next?: string }
export interface UsersPage { users: User[]; next?: string }
export interface UserChanges {
  display_name?: string | null;
  avatar_url?: string | null;
  bio?: string | null;
  metadata?: Metadata | null;
}
export interface MessageChanges {
  text?: string;
  attachments?: Metadata[];
  mentions?: string[];
  metadata?: Metadata;
}
export interface ReactionResponse { message: Message; reaction: Reaction }
export interface SearchOptions { cids?: string[]; limit?: number; next?: string }
export interface SearchResponse { results: Message[]; next?: string }
export interface DraftInput { text: string; parent_id?: string; attachments?: Metadata[]; mentions?: string[] }
/** A page of drafts; `fromCache`: read from the device while the server could not be reached. */
export interface DraftsPage { drafts: Draft[]; next?: string; fromCache?: boolean }
export interface DeviceInput {
  id: string;
  push_provider: 'fcm' | 'apns' | 'webpush';
  push_token: string;
  platform?: 'android' | 'ios' | 'web';
}
export interface ChannelUpdate {
  name?: string;
  description?: string;
  avatar_url?: string;
  metadata?: Metadata;
  settings?: Metadata;
  slow_mode?: number;
  cooldown?: number;
}

/** What `client.channel(type, id, data)` uses to create the channel. */
export interface ChannelData {
  name?: string;
  description?: string;
  avatar_url?: string;
  /** User ids to add as members (the caller is always a member). */
  members?: string[];
  metadata?: Metadata;
}

export interface SendMessageInput {
  /** Generated (uuid v4) when absent; resending the same id never duplicates. */
  id?: string;
  text?: string;
  type?: string;
  parent_id?: string;
  quoted_message_id?: string;
  attachments?: Metadata[];
  mentions?: string[];
  metadata?: Metadata;
  silent?: boolean;
  /** RFC 3339, in the future: delivered then. */
  scheduled_for?: string;
}

export interface MessageQuery {
  limit?: number;
  before_seq?: number;
  after_seq?: number;
  around_id?: string;
}

export type ErrorCode =
  | 'invalid_json' | 'invalid_input' | 'unknown_api_key' | 'app_inactive' | 'invalid_secret'
  | 'missing_token' | 'invalid_token' | 'token_expired' | 'token_revoked' | 'unknown_user'
  | 'user_deactivated' | 'forbidden' | 'not_found' | 'id_conflict' | 'frame_too_large'
  | 'invalid_frame' | 'rate_limited' | 'internal' | 'unavailable' | 'channel_frozen'
  | 'banned_from_channel' | 'slow_mode' | 'method_not_allowed' | 'uri_too_long'
  | 'headers_too_large';

/** Every rejected promise of the SDK rejects with one of these. */
export interface ChatError extends Error {
  code: ErrorCode;
  /** HTTP status of the failed request, or 0 when there was none. */
  status: number;
  /** Whether the same call may succeed later. */
  retryable: boolean;
}

export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retry_after?: number;
}

export interface ConnectionOkEvent {
  type: 'connection.ok';
  connection_id: string;
  me: User;
  protocol: number;
  health_interval_ms: number;
}
export interface HealthCheckEvent { type: 'health.check'; connection_id: string }
export interface PongEvent { type: 'pong'; id?: string }
export interface ErrorEvent { type: 'error'; error: ApiErrorBody }
export interface MessageNewEvent { type: 'message.new'; cid: string; channel_seq: number; message: Message }
export interface MemberAddedEvent {
  type: 'member.added';
  cid: string;
  channel_seq: number;
  member: ChannelMember;
}
export interface AddedToChannelEvent {
  type: 'notification.added_to_channel';
  user_seq: number;
  channel: ChannelInfo;
}
interface ChannelSeq { cid: string; channel_seq: number }
export interface MessageUpdatedEvent extends ChannelSeq { type: 'message.updated'; message: Message }
export interface MessageDeletedEvent extends ChannelSeq { type: 'message.deleted'; message: Message; hard_delete: boolean }
export interface ReactionEvent extends ChannelSeq {
  type: 'reaction.new' | 'reaction.deleted';
  reaction: Reaction;
  message: Message;
}
export interface MessageReadEvent extends ChannelSeq { type: 'message.read'; read: ReadState }
export interface ChannelChangedEvent extends ChannelSeq {
  type: 'channel.updated' | 'channel.deleted' | 'channel.truncated';
  channel: ChannelInfo;
}
export interface MemberUpdatedEvent extends ChannelSeq { type: 'member.updated'; member: ChannelMember }
export interface MemberRemovedEvent extends ChannelSeq { type: 'member.removed'; user_id: string }
export interface WatchingEvent {
  type: 'user.watching.start' | 'user.watching.stop';
  cid: string;
  user_id: string;
  watcher_count: number;
}
export interface TypingEvent { type: 'typing.start' | 'typing.stop'; cid: string; user_id: string; parent_id?: string }
export interface MentionEvent { type: 'notification.mention'; user_seq: number; cid: string; message: Message }
export interface InvitedEvent { type: 'notification.invited'; user_seq: number; channel: ChannelInfo }
export interface RemovedFromChannelEvent { type: 'notification.removed_from_channel'; user_seq: number; cid: string }
export interface MembershipUpdatedEvent {
  type: 'notification.membership_updated';
  user_seq: number;
  cid: string;
  member: ChannelMember;
}
export interface UserUpdatedEvent { type: 'user.updated'; user_seq: number; user: User }
export interface PresenceChangedEvent {
  type: 'user.presence.changed';
  user_id: string;
  status: 'online' | 'away' | 'offline';
  last_seen_at?: string;
}
export interface DraftUpdatedEvent { type: 'draft.updated'; user_seq: number; draft: Draft }
export interface DraftDeletedEvent { type: 'draft.deleted'; user_seq: number; cid: string; parent_id?: string }
/** Everything missed while disconnected has been applied. */
export interface ConnectionRecoveredEvent { type: 'connection.recovered' }
/** The outbox changed: how many changes wait to be delivered, and how many were refused. */
export interface OutboxChangedEvent { type: 'outbox.changed'; pending: number; failed: number }
/** The server refused a queued change for good (it stays visible until retry/discard). */
export interface OutboxFailedEvent { type: 'outbox.failed'; id: string; cid: string; code: ErrorCode; message: string }
/** A page of missed events was applied; `more` while further pages follow. */
export interface SyncProgressEvent { type: 'sync.progress'; events: number; more: boolean }
/** The server answered a channel query that was first answered from the cache. */
export interface ChannelListUpdatedEvent { type: 'channel_list.updated'; channels: ChannelPage }
export interface ConnectionChangedEvent {
  type: 'connection.changed';
  state: ConnectionState;
  online: boolean;
}

export type ChatEvent =
  | ConnectionOkEvent | HealthCheckEvent | PongEvent | ErrorEvent | MessageNewEvent
  | MemberAddedEvent | AddedToChannelEvent | ConnectionChangedEvent | ConnectionRecoveredEvent
  | MessageUpdatedEvent | MessageDeletedEvent | ReactionEvent | MessageReadEvent
  | ChannelChangedEvent | MemberUpdatedEvent | MemberRemovedEvent | WatchingEvent | TypingEvent
  | MentionEvent | InvitedEvent | RemovedFromChannelEvent | MembershipUpdatedEvent
  | UserUpdatedEvent | PresenceChangedEvent | DraftUpdatedEvent | DraftDeletedEvent
  | OutboxChangedEvent | OutboxFailedEvent | SyncProgressEvent | ChannelListUpdatedEvent;
export type ChatEventType = ChatEvent['type'];
/** The event type(s) whose `type` can be `T`. */
export type EventOf<T extends ChatEventType> = ChatEvent extends infer E
  ? E extends { type: infer K } ? (T extends K ? E : never) : never
  : never;
/** Channel events: what `channel.on()` can receive. */
export type ChannelEvent =
  | MessageNewEvent | MemberAddedEvent | AddedToChannelEvent | MessageUpdatedEvent
  | MessageDeletedEvent | ReactionEvent | MessageReadEvent | ChannelChangedEvent
  | MemberUpdatedEvent | MemberRemovedEvent | WatchingEvent | TypingEvent | MentionEvent
  | RemovedFromChannelEvent | MembershipUpdatedEvent | DraftDeletedEvent | OutboxFailedEvent;

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export declare class Channel {
  private constructor();
  /** `type:id`. */
  readonly cid: string;
  readonly type: string;
  readonly id: string;
  /** The live local state. */
  readonly state: ChannelLocalState;
  /** Gets or creates the channel (idempotent) and loads its state. */
  create(): Promise<ChannelStateResponse>;
  /** Watches the channel and loads its state. A channel held in the cache answers at once
   * (`from_cache: true`) and is brought up to date from the server in the background. */
  watch(): Promise<ChannelStateResponse>;
  stopWatching(): Promise<{ watcher_count: number }>;
  /** Sends a message: a local echo at once (`status: 'sending'`), stored durably with its
   * outbox entry and delivered exactly once when online; resolves with the stored message.
   * Rejects at once (`channel_frozen`, `banned_from_channel`, `slow_mode`) when the server
   * would refuse it; a refusal by the server leaves the echo `failed` (see `client.retry`). */
  sendMessage(message: SendMessageInput): Promise<Message>;
  /** A page of messages, oldest first (merged into the state). Older pages (`before_seq`)
   * are cached; while the server cannot be reached they come from the cache where it holds
   * them, marked `fromCache: true` (shorter than `limit` where the cached history ends). */
  queryMessages(query?: MessageQuery): Promise<Message[] & { fromCache?: boolean }>;
  replies(parentId: string, query?: MessageQuery): Promise<Message[]>;
  pinnedMessages(limit?: number): Promise<Message[]>;
  markRead(messageId?: string): Promise<ReadState>;
  markUnread(messageId: string): Promise<ReadState>;
  /** Throttled `typing.start` (one per 2 s); stops by itself. */
  keystroke(parentId?: string): void;
  stopTyping(parentId?: string): void;
  /** Channel operations (`update`, `updatePartial`, `freeze` / `unfreeze`, `mute` / `unmute`,
   * `hide` / `show`) change `state.channel` / `state.membership` and the cache at once (local
   * echo), are queued in the outbox, and resolve once the server applied them. */
  update(data: ChannelUpdate): Promise<ChannelInfo>;
  updatePartial(set?: ChannelUpdate, unset?: (keyof ChannelUpdate)[]): Promise<ChannelInfo>;
  delete(): Promise<ChannelInfo>;
  freeze(): Promise<ChannelInfo>;
  unfreeze(): Promise<ChannelInfo>;
  enableSlowMode(seconds: number): Promise<ChannelInfo>;
  disableSlowMode(): Promise<ChannelInfo>;
  truncate(options?: { message?: SendMessageInput }): Promise<ChannelInfo>;
  hide(): Promise<ChannelMember>;
  show(): Promise<ChannelMember>;
  mute(): Promise<ChannelMember>;
  unmute(): Promise<ChannelMember>;
  /** Shown at once in `state.members` (role `member`, no `user` until the server's event). */
  addMembers(userIds: string[]): Promise<ChannelMember[]>;
  /** Others are removed from `state.members` at once; yourself when the server confirms. */
  removeMembers(userIds: string[]): Promise<{ removed: boolean }>;
  leave(): Promise<{ left: boolean }>;
  /** Shown at once in `state.members` (and undone should the server refuse it). */
  setRole(userId: string, role: 'admin' | 'moderator' | 'member'): Promise<ChannelMember>;
  inviteMembers(userIds: string[]): Promise<ChannelMember[]>;
  acceptInvite(): Promise<ChannelMember>;
  rejectInvite(): Promise<ChannelMember>;
  banUser(userId: string, options?: { expiresIn?: number; shadow?: boolean }): Promise<ChannelMember>;
  shadowBan(userId: string, options?: { expiresIn?: number }): Promise<ChannelMember>;
  unbanUser(userId: string): Promise<ChannelMember>;
  /** The caller's draft (of the thread `parentId`). Saved or deleted offline, the device's
   * copy answers at once (it is the newest until the change is delivered); while the server
   * cannot be reached, the device's copy answers. Rejects `not_found` when there is none. */
  getDraft(parentId?: string): Promise<Draft>;
  /** Saves the draft: at once on the device (`getDraft` answers it), delivered through the
   * outbox; resolves with the server's copy once delivered. */
  saveDraft(draft: DraftInput): Promise<Draft>;
  deleteDraft(parentId?: string): Promise<boolean>;
  /** Listens to this channel's events only. */
  on<T extends ChannelEvent['type']>(event: T, listener: (event: EventOf<T>) => void): Unsubscribe;
  on(event: '*', listener: (event: ChannelEvent) => void): Unsubscribe;
  /** Releases this handle's wasm memory now instead of at garbage collection. */
  free(): void;
}

export declare class ChatClient {
  private constructor();
  /** Connects; resolves once the server accepted the connection. Rejects with a `ChatError`. */
  static connect(options: ChatClientOptions): Promise<ChatClient>;
  readonly userId: string;
  readonly user: User | undefined;
  readonly connectionState: ConnectionState;
  /** Listed channel cids in display order. */
  readonly channelList: string[];
  /** Local unread counts (muted channels left out). */
  readonly unreadCount: UnreadCount;
  on<T extends ChatEventType>(event: T, listener: (event: EventOf<T>) => void): Unsubscribe;
  on(event: '*', listener: (event: ChatEvent) => void): Unsubscribe;
  /** A handle on channel `type:id`; `data` is used by `create()`. */
  channel(type: string, id: string, data?: ChannelData): Channel;
  queryChannels(filter?: ChannelFilter, sort?: ChannelSort[], options?: QueryChannelsOptions): Promise<ChannelPage>;
  /** The distinct channel of a member set. */
  distinctChannel(type: string, members: string[], data?: { name?: string; metadata?: Metadata }): Promise<ChannelStateResponse>;
  queryUsers(filter?: UserFilter, options?: QueryUsersOptions): Promise<UsersPage>;
  updateUser(changes: UserChanges): Promise<User>;
  setPresence(status: 'online' | 'away'): void;
  getMessage(id: string): Promise<Message>;
  /** Edits, deletes and reactions show at once, are queued durably and delivered in order;
   * a change that cancels a still-unsent one (delete of an unsent message, add then remove
   * of a reaction) resolves with `undefined` and sends nothing. */
  updateMessage(id: string, changes: MessageChanges): Promise<Message>;
  deleteMessage(id: string, options?: { hard?: boolean }): Promise<Message | undefined>;
  pinMessage(id: string): Promise<Message>;
  unpinMessage(id: string): Promise<Message>;
  sendReaction(messageId: string, type: string, options?: { enforceUnique?: boolean }): Promise<ReactionResponse | undefined>;
  deleteReaction(messageId: string, type: string): Promise<ReactionResponse | undefined>;
  search(query: string, options?: SearchOptions): Promise<SearchResponse>;
  getUnreadCount(): Promise<UnreadResponse>;
  /** The caller's drafts, newest first; while the server cannot be reached, the first page
   * comes from the device (`fromCache: true`). */
  queryDrafts(options?: { limit?: number; next?: string }): Promise<DraftsPage>;
  addDevice(device: DeviceInput): Promise<Device>;
  getDevices(): Promise<Device[]>;
  removeDevice(id: string): Promise<boolean>;
  /** Any REST call (`path` from `/v1/`); `mutation` adds a fresh `mutation_id`. */
  request(method: HttpMethod, path: string, body?: object, mutation?: boolean): Promise<unknown>;
  /** Where data is kept: `indexeddb`, or `memory` (nothing survives a reload). */
  readonly persistence: 'indexeddb' | 'memory';
  /** The changes waiting in the outbox, in the order they were made. */
  pending(): Promise<OutboxEntryInfo[]>;
  /** Queues a refused change again (after what was queued meanwhile). */
  retry(id: string): Promise<void>;
  /** Drops a refused change; a refused send takes its message with it. */
  discard(id: string): Promise<void>;
  /** Closes for good and releases the socket, timers and listeners; `clearCache` also deletes
   * everything stored on this device for the user (the outbox included). */
  disconnect(options?: { clearCache?: boolean }): Promise<void>;
  /** Releases this handle's wasm memory now instead of at garbage collection. */
  free(): void;
}

/** Resolves once the wasm module is loaded (connect() waits for it anyway). */
export declare function ready(): Promise<void>;
