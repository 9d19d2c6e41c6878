// The admin centre in headless Chromium: an administrator signs in through
// the tenant's own hosted pages, invites a Fabrikam user and watches the
// guest become Accepted after the guest redeems the invitation in a second
// browser, configures Fabrikam as a partner and runs the what-if, and
// reads each action in the audit log. axe-core finds no serious or
// critical violation on any page, and no page scrolls sideways on a phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { arriveAt, describePage, enterPassword, enterUsername, expectStep, openBrowser, staySignedIn } from '../lib/browser.mjs';
import { auditHas as consoleAuditHas, checkPage as checkConsolePage, signInToConsole } from '../lib/console.mjs';
import { Graph, partner, server } from '../lib/gatehouse.mjs';
import { waitFor } from '../lib/mailbox.mjs';

const srv = server();
const fabrikam = partner();
const fabrikamGraph = new Graph(fabrikam);

const checkPage = (page, name) => checkConsolePage(srv, page, name);
const auditHas = (page, activity, target) => consoleAuditHas(srv, page, activity, target);

test('an administrator runs the console: invite a guest, partner settings and the what-if, the audit log', async (t) => {
  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  await signInToConsole(srv, page);
  await checkPage(page, 'overview');
  const base = `${srv.base}/admin/${srv.tenantId}`;

  // The language switch.
  await page.getByRole('link', { name: 'Svenska' }).click();
  await page.getByRole('heading', { level: 1, name: 'Översikt' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
  await page.getByRole('link', { name: 'English' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

  // Invite a Fabrikam user.
  const member = await fabrikamGraph.createUser('console-guest');
  await page.getByRole('link', { name: 'Users and guests' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users and guests' }).waitFor();
  await checkPage(page, 'users');
  await page.getByLabel('Email address').fill(member.userPrincipalName);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.locator('#external-state').waitFor();
  assert.equal(await page.locator('#external-state').innerText(), 'PendingAcceptance');
  const guestPage = page.url().replace(/\?.*$/, '');
  await checkPage(page, 'user');

  // The guest redeems in a browser of their own, through Fabrikam's pages.
  const mail = await waitFor(srv, member.userPrincipalName, /\/redeem\?ticket=/);
  const link = /https:\/\/[^\s"<>]+\/redeem\?ticket=[^\s"<>]+/.exec(mail.text ?? mail)?.[0];
  assert.ok(link, `no redemption link in the invitation email: ${JSON.stringify(mail).slice(0, 500)}`);
  const guestBrowser = await openBrowser(srv);
  t.after(guestBrowser.close);
  const g = guestBrowser.page;
  await g.goto(link.replaceAll('&amp;', '&'));
  await expectStep(g, 'invite');
  await g.locator('main[data-step="invite"] form button[type="submit"]').click();
  await enterUsername(g, member.userPrincipalName);
  await enterPassword(g, member.password);
  await staySignedIn(g, false);
  await expectStep(g, 'review');
  await g.locator('button[name="decision"][value="accept"]').click();
  await arriveAt(g, srv.base);

  // The administrator sees the guest Accepted.
  for (let i = 0; i < 20; i++) {
    await page.goto(guestPage);
    if (await page.locator('#external-state').innerText() === 'Accepted') break;
    await page.waitForTimeout(250);
  }
  assert.equal(await page.locator('#external-state').innerText(), 'Accepted', await describePage(page));
  await auditHas(page, 'Invite external user', member.userPrincipalName.split('@')[0]);
  await checkPage(page, 'audit');

  // Fabrikam as a partner, its users blocked inbound; the what-if says so, layer by layer.
  await page.goto(`${base}/crosstenant`);
  await checkPage(page, 'crosstenant');
  const add = page.locator('form[action$="/crosstenant/partners"]');
  await add.getByLabel('Organization').fill(fabrikam.domain);
  await add.getByLabel('B2B collaboration inbound').selectOption('blocked');
  await add.getByRole('button', { name: 'Add' }).click();
  await page.getByRole('heading', { level: 3, name: new RegExp(fabrikam.tenantId) }).waitFor();
  // The other tests share the server and invite Fabrikam's users: the
  // partner configuration goes whatever happens here.
  const deletePartner = async () => {
    await page.goto(`${base}/crosstenant`);
    const del = page.locator(`form[action$="/partners/${fabrikam.tenantId}/delete"] button`);
    if (await del.count() > 0) await del.click();
    await page.getByRole('heading', { level: 1, name: 'Cross-tenant access settings' }).waitFor();
  };
  try {
    await whatIfBlocks(page, base);
  } finally {
    await deletePartner();
  }
  assert.equal(await page.getByRole('heading', { level: 3, name: new RegExp(fabrikam.tenantId) }).count(), 0, 'the partner was not deleted');
  await auditHas(page, 'Delete', fabrikam.tenantId);

  for (const path of ['signins', 'deleted']) {
    await page.goto(`${base}/${path}`);
    await checkPage(page, path);
  }

  // Sign-out ends the session and the tenant's.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${srv.base}/admin?signedout=1`);
  await page.goto(`${base}/`);
  await expectStep(page, 'username');
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});

/** whatIfBlocks runs the what-if for a Fabrikam user: blocked, layer by layer, and audited. */
async function whatIfBlocks(page, base) {
  const other = await fabrikamGraph.createUser('what-if');
  await page.getByLabel('Home organization (domain or tenant ID)').fill(fabrikam.domain);
  await page.getByLabel("User's object ID in the home organization").fill(other.id);
  await page.getByRole('button', { name: 'Evaluate' }).click();
  const result = page.locator('#whatif-result');
  await result.waitFor();
  assert.match(await result.innerText(), /Blocked[\s\S]*resourceInbound/);
  assert.equal(await result.locator('tbody tr').count(), 5, 'the what-if shows each of the five layers');
  await checkPage(page, 'crosstenant-whatif');
  await auditHas(page, 'Add', fabrikam.tenantId);
}
