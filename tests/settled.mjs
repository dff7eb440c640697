// Reading lists the Worker keeps asynchronously: the store's order index
// follows the orders' events, which the events queue delivers in batches
// (up to 100 events or 1 s), so a list read right after a change may not
// show it yet.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What `read()` answers once it stopped changing: read again every
 * `quietMs` until two reads in a row agree (compared as JSON), at most
 * `tries` times. An assertion that something is absent reads a settled
 * list, so an order on its way cannot hide behind the delay.
 */
export async function settled(read, { quietMs = 2500, tries = 30 } = {}) {
  let last = JSON.stringify(await read());
  for (let i = 0; i < tries; i++) {
    await sleep(quietMs);
    const value = await read();
    const now = JSON.stringify(value);
    if (now === last) return value;
    last = now;
  }
  throw new Error(`still changing after ${tries} reads ${quietMs} ms apart`);
}
