// Screenshots of the hosted pages (start page, not-found and error cards,
// the sign-in steps, the device code pages, signing out) of the partner
// tenant, Fabrikam, branded with a colour, a text, links and an uploaded
// logo, at desktop and phone width, into GATEHOUSE_SCREENSHOTS; run by
// scripts/screenshots with shots/admin-console.mjs.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';

import { openBrowser } from '../lib/browser.mjs';
import { partner, server } from '../lib/gatehouse.mjs';
import { walkHostedPages } from '../lib/hosted.mjs';
import { shoot } from '../lib/shots.mjs';

const fabrikam = partner();
const out = process.env.GATEHOUSE_SCREENSHOTS;

test('screenshots of the hosted pages', async (t) => {
  assert.ok(out, 'GATEHOUSE_SCREENSHOTS names the directory for the screenshots');
  mkdirSync(out, { recursive: true });
  const browser = await openBrowser(fabrikam);
  t.after(browser.close);
  let n = 30; // after the console's 01–22
  await walkHostedPages(fabrikam, server(), browser.page, (name) => shoot(browser.page, out, `${n++}-hosted-${name}`));
});
