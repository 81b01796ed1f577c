// The status page in a real browser: Debian's headless Chromium driven by
// playwright-core. Starts the switchyard binary (SWITCHYARD_BIN) and its sandbox
// gateways, makes gateway "beta" answer 503 until the health controller ejects it,
// loads /status with the admin token as the Basic password, checks that the
// ejected gateway and its evidence are shown, and saves desktop and phone
// screenshots under ARTIFACTS (default target/ci-artifacts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const BIN = process.env.SWITCHYARD_BIN;
const ARTIFACTS = resolve(process.env.ARTIFACTS || 'target/ci-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'browser-test-token';
const children = [];
const dirs = [];

after(() => {
  for (const c of children) c.kill('SIGTERM');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function start(args, env) {
  const c = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  c.stderr.on('data', (d) => { log = (log + d).slice(-20000); });
  c.log = () => log;
  children.push(c);
  return c;
}

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

test('the status page shows the ejected gateway and its evidence', { timeout: 120000 }, async () => {
  assert.ok(BIN, 'SWITCHYARD_BIN names the switchyard binary');
  const [pub, admin, a, b, control] = await Promise.all([1, 2, 3, 4, 5].map(freePort));
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-browser-'));
  dirs.push(dir);
  const cfg = join(dir, 'switchyard.toml');
  writeFileSync(cfg, `
[server]
listen = "127.0.0.1:${pub}"
max_attempts = 2

[admin]
listen = "127.0.0.1:${admin}"
token_env = "SY_ADMIN_TOKEN"

[ledger]
path = "${join(dir, 'ledger.db')}"

[health]
hard_down_consecutive = 5

[[gateway]]
name = "alpha"
connector = "generic"
base_url = "http://127.0.0.1:${a}"
timeout = "2s"

[[gateway]]
name = "beta"
connector = "generic"
base_url = "http://127.0.0.1:${b}"
timeout = "2s"

[[route]]
name = "default"
split = [{ gateway = "alpha", weight = 50 }, { gateway = "beta", weight = 50 }]
fallback = ["alpha", "beta"]
`);
  const sandbox = start(['sandbox', '--config', cfg, '--control', `127.0.0.1:${control}`, '--callbacks', 'off'], {});
  const serve = start(['serve', '--config', cfg], { SY_ADMIN_TOKEN: TOKEN });
  const base = `http://127.0.0.1:${pub}`;
  const adminBase = `http://127.0.0.1:${admin}`;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  try {
    await until('the sandbox', async () => (await fetch(`http://127.0.0.1:${control}/_sandbox/beta`)).ok);
    await until('switchyard /readyz', async () => (await fetch(`${base}/readyz`)).ok);
    // beta answers 503 to every payment: a technical failure, safe to fail over.
    const knob = await fetch(`http://127.0.0.1:${control}/_sandbox/beta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error_5xx_rate: 1.0, error_status: 503 }),
    });
    assert.ok(knob.ok, `sandbox knob: ${knob.status}`);
    const state = async () => {
      const r = await fetch(`${adminBase}/admin/gateways`, { headers: auth });
      const v = await r.json();
      return v.gateways.find((g) => g.name === 'beta').state;
    };
    let n = 0;
    await until('beta ejected', async () => {
      for (let i = 0; i < 10; i++, n++) {
        await fetch(`${base}/v1/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `browser-${n}` },
          body: JSON.stringify({ order_id: `ord_browser_${n}`, amount: 49900, method: 'upi_intent' }),
        });
      }
      return (await state()) === 'ejected';
    }, 60000);

    mkdirSync(ARTIFACTS, { recursive: true });
    const profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
    dirs.push(profile);
    // A fresh --user-data-dir: launchPersistentContext passes it (Playwright refuses
    // it in args); headless: true passes --headless.
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      httpCredentials: { username: 'oncall', password: TOKEN },
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = ctx.pages()[0] || (await ctx.newPage());
      const external = [];
      page.on('request', (r) => { if (!r.url().startsWith(adminBase)) external.push(r.url()); });
      const resp = await page.goto(`${adminBase}/status`);
      assert.equal(resp.status(), 200);
      const incident = page.locator('#incidents .incident', { hasText: 'beta' });
      await incident.waitFor();
      const text = await incident.innerText();
      assert.match(text, /beta is ejected/);
      assert.match(text, /ejected \d\d:\d\d IST: /, text);
      assert.match(text, /in a row got no usable answer|server errors or timeouts|technically/, text);
      assert.match(text, /Tell customers: Some customers may be experiencing failed payments/);
      const card = await page.locator('[data-gateway="beta"] .state').innerText();
      assert.match(card.toLowerCase(), /ejected/);
      assert.match(await page.locator('#transitions').innerText(), /beta/);
      assert.ok(await page.locator('[data-gateway="alpha"] svg.spark').count() === 1);
      await page.screenshot({ path: join(ARTIFACTS, 'status.png'), fullPage: true });
      // The page refreshes itself (every 10 s): the stamp moves without a reload.
      const stamp = await page.locator('#stamp').innerText();
      await page.waitForFunction(
        (old) => document.getElementById('stamp').textContent !== old,
        stamp,
        { timeout: 20000 },
      );
      await page.locator('#incidents .incident', { hasText: 'beta' }).waitFor();

      await page.setViewportSize({ width: 390, height: 844 });
      await page.reload();
      await page.locator('#incidents .incident').first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `the page scrolls sideways on a phone by ${overflow}px`);
      await page.screenshot({ path: join(ARTIFACTS, 'status-phone.png'), fullPage: true });
      assert.deepEqual(external, [], 'the page loads nothing from elsewhere');
      console.log(`screenshots: ${join(ARTIFACTS, 'status.png')}, ${join(ARTIFACTS, 'status-phone.png')}`);
    } finally {
      await ctx.close();
    }
  } catch (e) {
    console.error('--- switchyard serve log (tail) ---\n' + serve.log().slice(-4000));
    console.error('--- switchyard sandbox log (tail) ---\n' + sandbox.log().slice(-2000));
    throw e;
  }
});
