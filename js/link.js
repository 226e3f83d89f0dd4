// The browser side of the connection driver (src/bindings/driver.rs): one websocket at a time,
// the reconnect timer, the health-check tick, and the browser's connectivity signals (the
// window's online / offline events, a hidden tab becoming visible). It decides nothing: every
// happening goes to the one listener as (kind, value); what happens before a listener is set
// (the first frames of the socket connect() opens early) waits for it, in order.
// Imported by the wasm as a wasm-bindgen snippet.

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
