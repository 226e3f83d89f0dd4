// Opens each startup page `runs` times in fresh browser contexts (a first visit), then a
// returning user's page `runs` times in one profile with 50 channels cached, and prints one
// JSON line with the medians. Usage: node run.mjs <server url> <runs>
import { chromium } from 'playwright-core';

const [url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 20);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function measure(path) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url + path);
    const result = await page.waitForFunction(() => window.__result, null, { timeout: 30000 });
    times.push((await result.jsonValue()).ms);
    await context.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A returning user with `channels` cached channels: one profile seeded once, then `runs`
 * page loads in it, each timing connect() (from the cache) and the cached channel list. */
async function warm(channels) {
  const context = await browser.newContext();
  const user = `warm-${Date.now()}`;
  let page = await context.newPage();
  await page.goto(`${url}/bench/warm.html?user=${user}&seed=${channels}`);
  await page.waitForFunction(() => window.__result, null, { timeout: 300000 });
  const connected = [];
  const listed = [];
  for (let i = 0; i < runs; i++) {
    await page.close();
    page = await context.newPage();
    await page.goto(`${url}/bench/warm.html?user=${user}`);
    const r = await (await page.waitForFunction(() => window.__result, null, { timeout: 30000 })).jsonValue();
    if (!r.fromCache || r.channels !== Math.min(channels, 30)) throw new Error(`warm start not from the cache: ${JSON.stringify(r)}`);
    connected.push(r.ms);
    listed.push(r.listed);
  }
  await context.close();
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { connected: median(connected), listed: median(listed) };
}

const sdk = await measure('/bench/sdk.html');
const stream = await measure('/bench/stream.html');
const WARM_CHANNELS = 50;
const returning = await warm(WARM_CHANNELS);
await browser.close();
const round = (x) => Math.round(x * 10) / 10;
console.log(JSON.stringify({
  bench: 'startup',
  runs,
  sdk_connected_median_ms: round(sdk),
  sdk_warm_connected_median_ms: round(returning.connected),
  sdk_warm_channel_list_median_ms: round(returning.listed),
  warm_cached_channels: WARM_CHANNELS,
  stream_chat_init_median_ms: round(stream),
  stream_chat_note: 'module evaluation + getInstance only (no Stream server to connect to)',
}));
