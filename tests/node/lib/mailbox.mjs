// The developer mailbox of a `gatehouse serve` without --smtp-url, read as
// a developer would: the list at {base}/_dev/mailbox and each message at
// {base}/_dev/mailbox/{id}. Both answer loopback callers only, which these
// tests are. The pages are HTML for people, so this reads no more of them
// than the list's rows and a message's text part.

const pollEvery = 200;
// The outbox worker delivers within about a second; this leaves room for
// a loaded machine without letting a lost message hang the run.
const deliveryTimeout = 10_000;

const rowRE = /<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>\s*<td><a href="\/_dev\/mailbox\/([^"]+)">([^<]*)<\/a><\/td><\/tr>/g;
const textRE = /<h2>Text<\/h2><pre>([\s\S]*?)<\/pre>/;

function unescapeHTML(s) {
  return s.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(amp|lt|gt|quot|apos));/gi, (_, dec, hex, name) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[name.toLowerCase()];
  });
}

async function page(srv, path) {
  const res = await fetch(`${srv.base}${path}`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/**
 * listTo lists the messages kept for address (case-insensitive), as the
 * list page shows them: id, received (to the second), to, subject.
 */
export async function listTo(srv, address) {
  const html = await page(srv, '/_dev/mailbox');
  const want = address.toLowerCase();
  return [...html.matchAll(rowRE)]
    .map(([, at, tenantId, to, id, subject]) => ({
      id: unescapeHTML(id), at: unescapeHTML(at), tenantId: unescapeHTML(tenantId), to: unescapeHTML(to), subject: unescapeHTML(subject),
    }))
    .filter((m) => m.to.toLowerCase().split(/,\s*/).some((a) => a === want || a.endsWith(`<${want}>`)));
}

/** text is one message's plain-text part. */
export async function text(srv, id) {
  const html = await page(srv, `/_dev/mailbox/${encodeURIComponent(id)}`);
  const m = textRE.exec(html);
  if (!m) throw new Error(`the mailbox page of message ${id} has no text part:\n${html.slice(0, 500)}`);
  return unescapeHTML(m[1]);
}

/**
 * waitFor polls the mailbox until a message to address that is not among
 * skipIds has a text part matching re, and returns it with the match;
 * with several such, the newest. It fails after deliveryTimeout.
 */
export async function waitFor(srv, address, re, skipIds = new Set()) {
  const deadline = Date.now() + deliveryTimeout;
  const opened = new Map();
  for (;;) {
    const found = [];
    for (const m of await listTo(srv, address)) {
      if (skipIds.has(m.id)) continue;
      if (!opened.has(m.id)) opened.set(m.id, await text(srv, m.id));
      const match = re.exec(opened.get(m.id));
      if (match) found.push({ ...m, text: opened.get(m.id), match });
    }
    if (found.length > 0) {
      found.sort((a, b) => a.at.localeCompare(b.at));
      const newest = found.filter((m) => m.at === found.at(-1).at);
      if (newest.length > 1 && new Set(newest.map((m) => m.match[0])).size > 1) {
        throw new Error(`${newest.length} messages to ${address} match ${re} within the same second: ${newest.map((m) => m.subject).join('; ')}`);
      }
      return newest[0];
    }
    if (Date.now() > deadline) {
      throw new Error(`no message to ${address} matching ${re} in the developer mailbox after ${deliveryTimeout} ms; ` +
        `it holds ${opened.size} other(s) to that address`);
    }
    await new Promise((res) => setTimeout(res, pollEvery));
  }
}

/**
 * passcode waits for a new one-time passcode email to address (one not
 * among skipIds) and returns its 8-digit code.
 */
export async function passcode(srv, address, skipIds) {
  const m = await waitFor(srv, address, /\bcode\b[^0-9]*\b(\d{8})\b/i, skipIds);
  return m.match[1];
}
