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
  /** The user's token (a JWT minted by your backend). */
  token: string;
  /** Identifies this device or tab to the server. */
  deviceId?: string;
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
}

export interface ChannelMember {
  user_id: string;
  user?: User;
  role: 'owner' | 'admin' | 'moderator' | 'member';
  joined_at: string;
  unread_count: number;
  last_read_at?: string;
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
}

export interface ChannelState {
  channel: ChannelInfo;
  members: ChannelMember[];
  /** The latest messages, oldest first. */
  messages: Message[];
  membership?: ChannelMember;
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
}

export interface MessageQuery {
  limit?: number;
  before_seq?: number;
  after_seq?: number;
}

export type ErrorCode =
  | 'invalid_json' | 'invalid_input' | 'unknown_api_key' | 'app_inactive' | 'invalid_secret'
  | 'missing_token' | 'invalid_token' | 'token_expired' | 'token_revoked' | 'unknown_user'
  | 'user_deactivated' | 'forbidden' | 'not_found' | 'id_conflict' | 'frame_too_large'
  | 'invalid_frame' | 'rate_limited' | 'internal' | 'unavailable';

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
export interface ConnectionChangedEvent {
  type: 'connection.changed';
  state: ConnectionState;
  online: boolean;
}

export type ChatEvent =
  | ConnectionOkEvent | HealthCheckEvent | PongEvent | ErrorEvent | MessageNewEvent
  | MemberAddedEvent | AddedToChannelEvent | ConnectionChangedEvent;
export type ChatEventType = ChatEvent['type'];
export type EventOf<T extends ChatEventType> = Extract<ChatEvent, { type: T }>;
/** Channel events: what `channel.on()` can receive. */
export type ChannelEvent = MessageNewEvent | MemberAddedEvent | AddedToChannelEvent;

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

export declare class Channel {
  private constructor();
  /** `type:id`. */
  readonly cid: string;
  /** Gets or creates the channel (idempotent). */
  create(): Promise<ChannelState>;
  /** Sends a message; resolves with the stored message. */
  sendMessage(message: SendMessageInput): Promise<Message>;
  /** A page of messages, oldest first. */
  queryMessages(query?: MessageQuery): Promise<Message[]>;
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
  readonly connectionState: ConnectionState;
  on<T extends ChatEventType>(event: T, listener: (event: EventOf<T>) => void): Unsubscribe;
  on(event: '*', listener: (event: ChatEvent) => void): Unsubscribe;
  /** A handle on channel `type:id`; `data` is used by `create()`. */
  channel(type: string, id: string, data?: ChannelData): Channel;
  /** Closes for good and releases the socket, timers and listeners. */
  disconnect(): Promise<void>;
  /** Releases this handle's wasm memory now instead of at garbage collection. */
  free(): void;
}

/** Resolves once the wasm module is loaded (connect() waits for it anyway). */
export declare function ready(): Promise<void>;
