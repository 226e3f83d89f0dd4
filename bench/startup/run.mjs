// Opens each startup page `runs` times in fresh browser contexts and prints one JSON line with
// the medians. Usage: node run.mjs <server url> <runs>
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

const sdk = await measure('/bench/sdk.html');
const stream = await measure('/bench/stream.html');
await browser.close();
const round = (x) => Math.round(x * 10) / 10;
console.log(JSON.stringify({
  bench: 'startup',
  runs,
  sdk_connected_median_ms: round(sdk),
  stream_chat_init_median_ms: round(stream),
  stream_chat_note: 'module evaluation + getInstance only (no Stream server to connect to)',
}));
