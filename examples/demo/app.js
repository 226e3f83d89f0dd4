// chat-sdk demo: one channel (messaging:lobby), three demo users.
//
// DEV ONLY: the page gets its user token from the server's /dev/credentials endpoint, which
// exists only when the server runs with --demo. A real app gets tokens from its own backend.
import { ChatClient } from '/js/index.js';

const CHANNEL_TYPE = 'messaging';
const CHANNEL_ID = 'lobby';
const DEMO_USERS = ['alice', 'bob', 'carol'];

const $ = (sel) => document.querySelector(sel);
const els = {
  me: $('#me'),
  status: $('#status'),
  waiting: $('#waiting'),
  conn: $('.conn'),
  error: $('#error'),
  messages: $('#messages'),
  empty: $('#empty'),
  form: $('#compose'),
  composer: $('#composer'),
  send: $('#send'),
};

const params = new URLSearchParams(location.search);
const requested = params.get('user') || 'alice';
const userId = /^[A-Za-z0-9_-]{1,64}$/.test(requested) ? requested : 'alice';

els.me.textContent = userId;
document.title = `${userId} · chat-sdk demo`;
for (const a of document.querySelectorAll('.switch a')) {
  if (a.dataset.user === userId) a.classList.add('current');
}

// ---- rendering -----------------------------------------------------------------------------

/** message id -> element; the only source of truth for "is it shown already". */
const shown = new Map();

function setStatus(state) {
  const s = String(state || 'unknown');
  els.status.textContent = s;
  els.status.dataset.state = s;
  els.conn.dataset.state = s;
}

function showError(err, context) {
  const code = (err && err.code) || 'error';
  const msg = (err && err.message) || String(err);
  els.error.textContent = `${context ? context + ': ' : ''}${code} — ${msg}`;
  els.error.dataset.code = code;
  els.error.hidden = false;
  console.error(context, err);
}

function clearError() {
  els.error.hidden = true;
  els.error.textContent = '';
  delete els.error.dataset.code;
}

function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function senderName(m) {
  return (m.user && (m.user.display_name || m.user.username)) || m.user_id || '?';
}

/** Builds the element for one message. User data goes in through textContent only. */
function renderMessage(m) {
  const el = document.createElement('article');
  el.className = 'message';
  if (m.user_id === userId) el.classList.add('mine');
  if (m.status && m.status !== 'sent') el.classList.add(`status-${m.status}`);
  el.dataset.id = m.id;
  el.dataset.status = m.status ?? '';
  el.dataset.user = m.user_id ?? '';
  // A local echo (queued in the outbox, not confirmed yet) has no sequence number (0).
  el.dataset.seq = m.channel_seq ? String(m.channel_seq) : '';
  if (m.error) el.title = `not sent: ${m.error.code} — ${m.error.message}`;

  const meta = document.createElement('div');
  meta.className = 'meta';
  const sender = document.createElement('span');
  sender.className = 'sender';
  sender.textContent = senderName(m);
  sender.dataset.user = m.user_id ?? '';
  sender.title = m.user_id ?? '';
  const time = document.createElement('time');
  time.className = 'time';
  if (m.created_at) time.dateTime = m.created_at;
  time.textContent = formatTime(m.created_at);
  meta.append(sender, time);

  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = m.text ?? '';

  el.append(meta, text);
  return el;
}

/**
 * Shows a message once (dedupe by id), in channel_seq order. A later copy of a message
 * already shown replaces it (re-inserted in order) only when it carries news (a sequence number it lacked,
 * or an edit); otherwise it is ignored.
 */
function addMessage(m) {
  if (!m || !m.id) return;
  const existing = shown.get(m.id);
  if (existing) {
    const hadSeq = existing.dataset.seq !== '';
    const changed = (!hadSeq && m.channel_seq)
      || existing.querySelector('.text').textContent !== (m.text ?? '')
      || existing.dataset.status !== (m.status ?? '');
    if (!changed) return;
    existing.remove();
    shown.delete(m.id);
  }
  const el = renderMessage(m);

  // Insert in channel_seq order (events can arrive after a history page that overlaps them).
  // Messages without a sequence number yet (local echoes) go last.
  const seq = m.channel_seq ? Number(m.channel_seq) : NaN;
  let before = null;
  if (!Number.isNaN(seq)) {
    for (const other of els.messages.querySelectorAll('.message')) {
      const os = other.dataset.seq === '' ? NaN : Number(other.dataset.seq);
      if (Number.isNaN(os) || os > seq) { before = other; break; }
    }
  }
  const atBottom = els.messages.scrollHeight - els.messages.scrollTop - els.messages.clientHeight < 40;
  els.messages.insertBefore(el, before);
  shown.set(m.id, el);
  els.empty.hidden = true;
  if (atBottom || m.user_id === userId) els.messages.scrollTop = els.messages.scrollHeight;
}

function setComposerEnabled(on) {
  els.composer.disabled = !on;
  els.send.disabled = !on;
  els.composer.placeholder = on ? `Message #${CHANNEL_ID} as ${userId}` : 'Connecting…';
}

// ---- chat ----------------------------------------------------------------------------------

async function fetchCredentials(id) {
  const res = await fetch(`/dev/credentials?user_id=${encodeURIComponent(id)}`);
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok || !body || !body.token) {
    const err = new Error((body && body.message) || `credentials request failed (HTTP ${res.status})`);
    err.code = (body && body.code) || 'credentials_failed';
    err.status = res.status;
    throw err;
  }
  return body;
}

let client = null;
let channel = null;

async function start() {
  setStatus('connecting');
  const creds = await fetchCredentials(userId);
  client = await ChatClient.connect({
    apiUrl: location.origin,
    apiKey: creds.api_key,
    userId: creds.user_id || userId,
    token: creds.token,
  });

  setStatus(client.connectionState);
  let lastState = client.connectionState;
  // Messages written offline wait in the outbox (IndexedDB) and go out once online.
  let waiting = 0;
  const showState = () => {
    els.waiting.hidden = waiting === 0;
    els.waiting.textContent = `· ${waiting} waiting`;
  };
  client.on('outbox.changed', (ev) => {
    waiting = ev.pending;
    showState();
    if (channel) for (const m of channel.state.messages) addMessage(m);
  });
  client.on('connection.changed', (ev) => {
    setStatus(ev.state);
    // After a reconnect, pick up anything the live stream may have missed (dedupe makes
    // the overlap harmless).
    if (ev.state === 'online' && lastState !== 'online' && channel) catchUp();
    lastState = ev.state;
    showState();
  });

  const members = [...new Set([...DEMO_USERS, userId])];
  channel = client.channel(CHANNEL_TYPE, CHANNEL_ID, { name: 'Lobby', members });
  // Listen before loading, so nothing sent in between is lost; dedupe handles the overlap.
  channel.on('message.new', (ev) => addMessage(ev.message));

  const state = await channel.create();
  for (const m of state.messages || []) addMessage(m);
  // Local echoes restored from the outbox after a reload.
  for (const m of channel.state.messages) addMessage(m);

  setComposerEnabled(true);
  document.body.dataset.ready = 'true';
  els.composer.focus();

  // Handy in the devtools console.
  window.chat = { client, channel };
}

let catchingUp = false;
async function catchUp() {
  if (catchingUp) return;
  catchingUp = true;
  try {
    const page = await channel.queryMessages({ limit: 50 });
    for (const m of page || []) addMessage(m);
  } catch (err) {
    showError(err, 'could not load messages');
  } finally {
    catchingUp = false;
  }
}

els.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = els.composer.value.trim();
  if (!text || !channel) return;
  els.composer.value = '';
  try {
    // Shown at once (outbox.changed re-renders the echo); resolves once delivered, which
    // may be much later when offline.
    const msg = await channel.sendMessage({ text });
    clearError();
    addMessage(msg);
  } catch (err) {
    // Give the text back so nothing the user typed is lost.
    if (!els.composer.value) els.composer.value = text;
    showError(err, 'could not send');
  }
  els.composer.focus();
});

start().catch((err) => {
  setStatus(client ? client.connectionState : 'error');
  showError(err, 'could not start');
});
