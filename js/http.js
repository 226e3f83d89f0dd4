// One REST call for the wasm (src/platform/http.rs): the global fetch (window or worker) with
// the client's headers and a JSON body, answered as [status, parsed JSON or undefined].
// Rejects with the browser's error when no answer arrived (offline, refused, CORS).
// Imported by the wasm as a wasm-bindgen snippet.
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
