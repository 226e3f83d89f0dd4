// Client-chosen ids (uuid v4, lower case) for messages and mutations: crypto.randomUUID where
// the page is a secure context, else the same format from crypto.getRandomValues.
// Imported by the wasm as a wasm-bindgen snippet.
export function newId(c = globalThis.crypto) {
  if (c.randomUUID) return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
