// Headless Debian Chromium, driven by playwright-core, walking Gatehouse's
// hosted sign-in pages as a person would, and the loopback test apps it is
// sent back to. The browser can reach loopback addresses only: everything
// else goes to a proxy that drops it.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

import { chromium } from 'playwright-core';

import { isLoopbackHost } from './loopback-only.mjs';

const chromiumPath = '/usr/bin/chromium';

// Without the background-networking, component-update and sync switches
// Chromium phones home on start; they quiet it, though not fully (startSink).
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const stepTimeout = 15_000;

/**
 * serverKeyPin is the base64 SHA-256 of the public key the server presents,
 * read over a connection verified against the development CA. Chromium is
 * told to accept exactly that key (--ignore-certificate-errors-spki-list)
 * rather than every certificate, and serve --dev-tls sends no chain for a
 * CA pin to match.
 */
async function serverKeyPin(srv) {
  const { hostname, port } = new URL(srv.base);
  const raw = await new Promise((resolve, reject) => {
    const sock = tls.connect({ host: hostname, port: Number(port), ca: readFileSync(srv.caFile) }, () => {
      resolve(sock.getPeerCertificate().raw);
      sock.end();
    });
    sock.on('error', reject);
  });
  const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * startTestApp serves a test app's redirect URIs on a loopback port: it
 * answers every request with a small page and records it. (Playwright's
 * routes cannot stand in: they never see the redirect hops by which the
 * server sends the browser back to an app.)
 */
export async function startTestApp() {
  const requests = [];
  const app = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    requests.push({ method: req.method, url });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(callbackPage(url));
  });
  const origin = await listenLoopback(app);
  return { origin, requests, close: () => closeServer(app) };
}

/**
 * startSink is the browser's proxy, which drops every connection. Loopback
 * addresses bypass a proxy (Chromium's rule), so the server and the test
 * apps are reached directly, and anything else ends here, on the machine.
 * The listed switches do not silence Chromium by themselves: Debian's
 * /usr/bin/chromium exports Google API keys, and the browser then calls
 * update.googleapis.com, accounts.google.com and, on every password form,
 * content-autofill.googleapis.com.
 */
async function startSink() {
  const sink = net.createServer((sock) => sock.destroy());
  const origin = await listenLoopback(sink);
  return { origin, close: () => closeServer(sink) };
}

async function listenLoopback(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${server.address().port}`;
}

function closeServer(server) {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

function callbackPage(url) {
  const outcome = url.searchParams.has('code') ? 'an authorization code'
    : url.searchParams.has('error') ? `error ${url.searchParams.get('error')}` : 'no code';
  const esc = (s) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test app</title>` +
    // No favicon request: the app's request log holds only what the server sent.
    `<link rel="icon" href="data:,"></head>` +
    `<body><h1>Test app</h1><p>${esc(url.pathname)} received ${esc(outcome)}.</p></body></html>`;
}

/**
 * openBrowser launches Chromium with one context and page. offLoopback()
 * lists the requests of the context's pages, redirect hops included, that
 * aimed anywhere but loopback.
 */
export async function openBrowser(srv) {
  const [pin, sink] = await Promise.all([serverKeyPin(srv), startSink()]);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumFlags, `--ignore-certificate-errors-spki-list=${pin}`, `--proxy-server=${sink.origin}`],
    });
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 800, height: 700 } });
    const offLoopback = [];
    context.on('request', (req) => {
      const url = new URL(req.url());
      if (url.protocol !== 'data:' && url.protocol !== 'about:' && !isLoopbackHost(url.hostname)) offLoopback.push(url.href);
    });
    const page = await context.newPage();
    return {
      context,
      page,
      offLoopback: () => [...offLoopback],
      async close() {
        await browser.close();
        await sink.close();
      },
    };
  } catch (err) {
    await browser?.close();
    await sink.close();
    throw err;
  }
}

/**
 * describePage says where the browser is stuck, for failure messages: the
 * URL, the sign-in step if it is one of the hosted pages, and the error the
 * page shows, or else its text.
 */
export async function describePage(page) {
  const quick = { timeout: 1000 };
  const step = await page.locator('main[data-step]').getAttribute('data-step', quick).catch(() => null);
  const error = page.locator('.error');
  const text = await (await error.count() > 0 ? error.first() : page.locator('body')).innerText(quick).catch(() => '');
  return `${page.url()}${step ? ` (the ${step} page)` : ''}: ${text.replace(/\s+/g, ' ').trim()}`;
}

/** expectStep waits for the hosted sign-in pages to show step. */
export async function expectStep(page, step) {
  try {
    await page.locator(`main[data-step="${step}"]`).waitFor({ timeout: stepTimeout });
  } catch {
    throw new Error(`expected the ${step} page, got ${await describePage(page)}`);
  }
}

/**
 * observeSteps records which sign-in pages the server renders to page until
 * steps() is called, read from the pages' own markup.
 */
export function observeSteps(page, srv) {
  const seen = [];
  const onResponse = (res) => {
    const url = new URL(res.url());
    if (url.origin !== srv.base || !url.pathname.endsWith('/login') || res.request().resourceType() !== 'document' || res.status() !== 200) {
      return;
    }
    seen.push(res.text().then(
      (html) => /data-step="([^"]+)"/.exec(html)?.[1] ?? '(a page without a step)',
      (err) => `(unreadable page: ${err.message})`,
    ));
  };
  page.on('response', onResponse);
  return {
    async steps() {
      page.off('response', onResponse);
      return Promise.all(seen);
    },
  };
}

/** arriveAt waits until the page is on origin and returns its URL. */
export async function arriveAt(page, origin) {
  try {
    await page.waitForURL((u) => u.origin === origin, { timeout: stepTimeout });
  } catch {
    throw new Error(`never reached ${origin}; stuck at ${await describePage(page)}`);
  }
  return new URL(page.url());
}

export async function enterUsername(page, upn) {
  await expectStep(page, 'username');
  await page.locator('input[name="username"]').fill(upn);
  await page.locator('form:has(input[name="username"]) button[type="submit"]').click();
}

export async function enterPassword(page, password, screenshot) {
  await expectStep(page, 'password');
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form:has(input[name="password"]) button[type="submit"]').click();
}

export async function staySignedIn(page, stay) {
  await expectStep(page, 'kmsi');
  await page.locator(`button[name="stay"][value="${stay ? 'yes' : 'no'}"]`).click();
}

export async function consent(page, screenshot) {
  await expectStep(page, 'consent');
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.locator('button[name="decision"][value="accept"]').click();
}

/**
 * signInFresh walks a browser with no session through every page a first
 * sign-in to an app shows — username, password, "Stay signed in?" (no),
 * consent — and returns the URL on origin the server sent the browser to.
 */
export async function signInFresh(page, authorizeURL, user, origin) {
  await page.goto(authorizeURL.href);
  await enterUsername(page, user.userPrincipalName);
  await enterPassword(page, user.password);
  await staySignedIn(page, false);
  await consent(page);
  return arriveAt(page, origin);
}
