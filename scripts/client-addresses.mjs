// Client addresses for local runs. The Worker limits request rates per
// client, by the address Cloudflare's edge puts in `CF-Connecting-IP`;
// locally workerd fills it in with the caller's (127.0.0.1) when a request
// has none, so every request of a test suite or a benchmark would be one
// client. Imported, this module gives each request Node sends with `fetch`
// an address of its own (from 10.0.0.0/8, never twice in a row) unless the
// request names one: many shoppers, as a shop has them. Suites that prove
// the limits name their client's address themselves.

let next = Math.floor(Math.random() * 0xffffff);

/** A fresh client address in 10.0.0.0/8. */
export function clientAddress() {
  next = (next + 1) % 0xffffff;
  return `10.${(next >> 16) & 255}.${(next >> 8) & 255}.${next & 255}`;
}

const HEADER = 'cf-connecting-ip';
const named = (headers) => {
  if (!headers) return false;
  if (headers instanceof Headers) return headers.has(HEADER);
  if (Array.isArray(headers)) return headers.some(([k]) => k.toLowerCase() === HEADER);
  return Object.keys(headers).some((k) => k.toLowerCase() === HEADER);
};

if (!globalThis.fetch.clientAddresses) {
  const original = globalThis.fetch;
  const fetchWithAddress = (input, init = {}) => {
    const fromRequest = input instanceof Request && input.headers.has(HEADER);
    if (fromRequest || named(init.headers)) return original(input, init);
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(HEADER, clientAddress());
    return original(input, { ...init, headers });
  };
  fetchWithAddress.clientAddresses = true;
  globalThis.fetch = fetchWithAddress;
}
