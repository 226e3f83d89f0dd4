// The browser I/O the wasm drives, apart from the stores (idb.js, memory.js): the connection
// (`Link`: one websocket, its timers, the browser's connectivity signals), REST calls (`call`)
// and client-chosen ids (`newId`). One module rather than three: every module the wasm imports
// is one more request when the package loads (and the wasm-bindgen test runner's server
// stalls when a page opens many connections at once).
// Imported by the wasm as a wasm-bindgen snippet.

// ---- the connection (src/bindings/driver.rs) -----------------------------------------------
// One websocket at a time, the reconnect timer, the health-check tick, and the browser's
// connectivity signals (the window's online / offline events, a hidden tab becoming visible).
// It decides nothing: every happening goes to the one listener as (kind, value); what happens
// before a listener is set (the first frames of the socket connect() opens early) waits for
// it, in order.
// Kinds, as src/bindings/driver.rs reads them.
const FRAME = 0; // value: the text of a frame
const CLOSED = 1; // value: the close code
const RECONNECT = 2;
const TICK = 3;
const ONLINE = 4;
const OFFLINE = 5;
const VISIBLE = 6;

export class Link {
  constructor() {
    this.ws = null;
    this.listener = null;
    this.waiting = [];
    this.timers = {};
    this.signals = [];
    const on = (target, name, kind, when = () => true) => {
      if (!target || !target.addEventListener) return;
      const handler = () => { if (when()) this.emit(kind); };
      target.addEventListener(name, handler);
      this.signals.push([target, name, handler]);
    };
    const win = typeof window === 'undefined' ? null : window;
    const doc = typeof document === 'undefined' ? null : document;
    on(win, 'online', ONLINE);
    on(win, 'offline', OFFLINE);
    on(doc, 'visibilitychange', VISIBLE, () => !doc.hidden);
  }

  /** Sets the listener `(kind, value) => void` and hands it what waited. */
  listen(listener) {
    this.listener = listener;
    const waiting = this.waiting;
    this.waiting = [];
    for (const [kind, value] of waiting) listener(kind, value);
  }

  emit(kind, value) {
    if (this.listener) this.listener(kind, value);
    else if (this.waiting) this.waiting.push([kind, value]);
  }

  /** Opens a socket in place of the current one; false when the URL is refused at once. */
  open(url) {
    this.drop();
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      return false;
    }
    ws.onmessage = (e) => { if (typeof e.data === 'string') this.emit(FRAME, e.data); };
    // An error event is always followed by a close event.
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.emit(CLOSED, e.code);
    };
    this.ws = ws;
    return true;
  }

  /** Sends a client frame (an object) if the socket is open; drops it otherwise. */
  send(frame) {
    const ws = this.ws;
    if (ws && ws.readyState === 1) {
      try { ws.send(JSON.stringify(frame)); } catch { /* closing: the close event follows */ }
    }
  }

  /** Closes the socket; no close event is reported for it. */
  close(code, reason) {
    this.drop(code, reason);
  }

  drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = null;
    try { ws.close(code, reason); } catch { ws.close(); }
  }

  /** Reports RECONNECT after `ms` (the previous one is cancelled; a negative `ms` only cancels). */
  reconnect(ms) { this.timer(RECONNECT, ms); }

  /** Reports TICK after `ms` (re-armed by the driver on each). */
  tick(ms) { this.timer(TICK, ms); }

  timer(kind, ms) {
    clearTimeout(this.timers[kind]);
    delete this.timers[kind];
    if (ms >= 0) {
      this.timers[kind] = setTimeout(() => { delete this.timers[kind]; this.emit(kind); }, ms);
    }
  }

  /** Releases everything: socket, timers, signal listeners; nothing is reported afterwards. */
  dispose() {
    this.listener = null;
    this.waiting = null;
    this.drop();
    for (const kind of Object.keys(this.timers)) clearTimeout(this.timers[kind]);
    this.timers = {};
    for (const [target, name, handler] of this.signals) target.removeEventListener(name, handler);
    this.signals = [];
  }
}

// ---- REST (src/platform/http.rs) -------------------------------------------------------------
// One REST call for the wasm (src/platform/http.rs): the global fetch (window or worker) with
// the client's headers and a JSON body, answered as [status, parsed JSON or undefined].
// Rejects with the browser's error when no answer arrived (offline, refused, CORS).
export async function call(method, url, headers, body) {
  const init = { method, headers: Object.fromEntries(headers) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let value;
  try { value = JSON.parse(text); } catch { value = undefined; }
  return [response.status, value];
}

// ---- ids (src/bindings/shared.rs) ------------------------------------------------------------
// Client-chosen ids (uuid v4, lower case) for messages and mutations: crypto.randomUUID where
// the page is a secure context, else the same format from crypto.getRandomValues.
export function newId(c = globalThis.crypto) {
  if (c.randomUUID) return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
