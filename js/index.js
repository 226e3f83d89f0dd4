// The npm entry of chat-sdk: initialises the WebAssembly module once (pkg/chat_sdk_bg.wasm,
// built by `wasm-pack build --target web`, beside pkg/chat_sdk.js) and re-exports the
// wasm-bindgen classes. `ChatClient.connect()` waits for that initialisation itself, so an app
// only writes `await ChatClient.connect({...})`.
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

export { ChatClient, Channel };
