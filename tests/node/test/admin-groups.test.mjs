// The admin centre's groups, roles and external collaboration settings in
// headless Chromium: an administrator creates a group, finds a user and
// adds them as a member, opens a role and the external collaboration
// settings and saves the guest access level. axe-core finds no serious or
// critical violation on any of these pages, and none scrolls sideways on a
// phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openBrowser } from '../lib/browser.mjs';
import { auditHas as consoleAuditHas, checkPage as checkConsolePage, signInToConsole } from '../lib/console.mjs';
import { server } from '../lib/gatehouse.mjs';

const srv = server();
const checkPage = (page, name) => checkConsolePage(srv, page, name);

test('an administrator manages a group, reads a role and the external collaboration settings', async (t) => {
  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  await signInToConsole(srv, page);
  const base = `${srv.base}/admin/${srv.tenantId}`;

  await page.getByRole('link', { name: 'Groups', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
  await checkPage(page, 'groups');
  const name = `Axe team ${Date.now()}`;
  const create = page.locator('form[action$="/groups"]');
  await create.getByLabel('Display name').fill(name);
  await create.getByLabel('Mail nickname').fill(`axe${Date.now()}`);
  await create.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await checkPage(page, 'group');

  // The administrator finds themself and joins the group.
  const alias = srv.admin.userPrincipalName.split('@')[0];
  await page.getByLabel('Find a user or guest').fill(alias);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('button', { name: /^Add as member: / }).first().click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const members = page.locator('section[aria-labelledby="members"] li');
  assert.equal(await members.count(), 1, 'the group has its member');
  await checkPage(page, 'group-member');
  await consoleAuditHas(srv, page, 'Add member to group', name);

  await page.goto(`${base}/roles`);
  await checkPage(page, 'roles');
  await page.getByRole('link', { name: 'Global Administrator', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Global Administrator' }).waitFor();
  assert.ok(await page.getByText(srv.admin.userPrincipalName).count() > 0, 'the administrator holds the role');
  await checkPage(page, 'role');

  await page.goto(`${base}/collaboration`);
  await page.getByRole('heading', { level: 1, name: 'External collaboration settings' }).waitFor();
  await checkPage(page, 'collaboration');
  const guests = page.locator('form[action$="/collaboration/authorization"]');
  const current = await guests.locator('input[name="guestUserRoleId"]:checked').getAttribute('value');
  await guests.getByLabel(/Guests have the same access as members/).check();
  await guests.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  assert.ok(await page.getByLabel(/Guests have the same access as members/).isChecked());
  // Other tests share the tenant: the level goes back as it was.
  await page.locator(`form[action$="/collaboration/authorization"] input[value="${current}"]`).check();
  await page.locator('form[action$="/collaboration/authorization"]').getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
