// B2B collaboration in headless Chromium: invitations made through Graph
// and redeemed on the hosted pages as an invited person would — a user of
// the partner tenant (Fabrikam) through their home tenant's own sign-in
// pages, and an address no tenant knows through an email one-time passcode
// read from the developer mailbox — and a tampered invitation link refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  arriveAt, describePage, enterPassword, enterUsername, expectStep, observeSteps, openBrowser, startTestApp, staySignedIn,
} from '../lib/browser.mjs';
import { Graph, partner, server } from '../lib/gatehouse.mjs';
import { listTo, passcode, waitFor } from '../lib/mailbox.mjs';

const srv = server();
const fabrikam = partner();
const graph = new Graph(srv);
const fabrikamGraph = new Graph(fabrikam);

const guestProps = ['id', 'userType', 'externalUserState', 'creationType', 'mail', 'userPrincipalName', 'identities'];

function escapeRE(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * invite invites address to the tenant and checks what Graph answers: a
 * pending guest, created at once, with a link to the redemption pages.
 */
async function invite(address, redirect, send) {
  const inv = await graph.invite(address, redirect, send);
  assert.equal(inv.status, 'PendingAcceptance');
  assert.equal(inv.inviteRedirectUrl, redirect);
  assert.match(inv.inviteRedeemUrl, new RegExp(`^${escapeRE(srv.base)}/redeem\\?ticket=[^&]+$`));
  const guestId = inv.invitedUser?.id;
  assert.ok(guestId, `the invitation names no invitedUser.id: ${JSON.stringify(inv)}`);
  const guest = await graph.user(guestId, guestProps);
  assert.equal(guest.userType, 'Guest');
  assert.equal(guest.externalUserState, 'PendingAcceptance');
  assert.equal(guest.creationType, 'Invitation');
  assert.equal(guest.mail?.toLowerCase(), address.toLowerCase());
  assert.ok(guest.userPrincipalName.includes('#EXT#@'), `guest UPN ${guest.userPrincipalName}`);
  return { inv, guestId };
}

/** openInvitation opens a redemption link and presses Continue. */
async function openInvitation(page, inv, screenshot) {
  const res = await page.goto(inv.inviteRedeemUrl);
  assert.equal(res.status(), 200, `the invitation link answered ${res.status()}: ${await describePage(page)}`);
  await expectStep(page, 'invite');
  const shown = await page.locator('main').innerText();
  assert.ok(shown.includes(inv.invitedUserEmailAddress), `the invitation page does not name ${inv.invitedUserEmailAddress}: ${shown}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.locator('main[data-step="invite"] form button[type="submit"]').click();
}

/** accept presses Accept on the review page. */
async function accept(page, invitedAddress, screenshot) {
  await expectStep(page, 'review');
  const shown = await page.locator('main').innerText();
  assert.ok(shown.includes('Node Acceptance'), `the review page does not name the inviting organization: ${shown}`);
  assert.ok(shown.includes(invitedAddress), `the review page does not show what the organization will see, ${invitedAddress}: ${shown}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.locator('button[name="decision"][value="accept"]').click();
}

test('a Fabrikam user redeems an invitation through Fabrikam\'s own sign-in pages', async (t) => {
  const site = await startTestApp();
  t.after(site.close);
  const redirect = `${site.origin}/welcome?from=invitation`;
  // A work account without mail: invited at its user principal name,
  // which is on a domain Fabrikam verified, so Fabrikam's sign-in proves it.
  const member = await fabrikamGraph.createUser('fabrikam');
  assert.ok(member.userPrincipalName.endsWith(`@${fabrikam.domain}`));

  const { inv, guestId } = await invite(member.userPrincipalName, redirect, true);
  // sendInvitationMessage: the email carries the same link Graph answered.
  await waitFor(srv, member.userPrincipalName, new RegExp(escapeRE(inv.inviteRedeemUrl)));

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  const homeSteps = observeSteps(page, srv);
  await openInvitation(page, inv, join(srv.artifacts, 'redeem-invite.png'));

  // Fabrikam's pages, not the inviting tenant's: its tenant's path.
  await enterUsername(page, member.userPrincipalName);
  const home = new URL(page.url());
  assert.ok(home.pathname.startsWith(`/${fabrikam.tenantId}/`) || home.pathname.startsWith(`/${fabrikam.domain}/`),
    `signing in at ${home.href}, not at Fabrikam (${fabrikam.tenantId})`);
  await enterPassword(page, member.password, join(srv.artifacts, 'redeem-home-password.png'));
  await staySignedIn(page, false);
  await accept(page, member.userPrincipalName, join(srv.artifacts, 'redeem-review.png'));
  const arrived = await arriveAt(page, site.origin);
  assert.equal(arrived.href, redirect);
  // The home tenant asked for nothing more: the first-party B2B client
  // needs no consent for openid, profile and email.
  assert.deepEqual(await homeSteps.steps(), ['username', 'password', 'kmsi']);

  const guest = await graph.user(guestId, guestProps);
  assert.equal(guest.externalUserState, 'Accepted');
  assert.equal(guest.userType, 'Guest');
  // The guest's key is the home account, never the address.
  assert.ok((guest.identities ?? []).some((i) => i.issuerAssignedId === member.id && i.issuer !== 'mail'),
    `the guest's identities do not name the Fabrikam account ${member.id}: ${JSON.stringify(guest.identities)}`);
  assert.ok(!(guest.identities ?? []).some((i) => i.issuer === 'mail'),
    `a guest who proved themselves at Fabrikam holds a mail identity: ${JSON.stringify(guest.identities)}`);
  assert.deepEqual(site.requests.map((r) => r.url.pathname), ['/welcome']);
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});

test('an address no tenant knows redeems with a one-time passcode from the developer mailbox', async (t) => {
  const site = await startTestApp();
  t.after(site.close);
  const redirect = `${site.origin}/start`;
  const address = `someone-${randomUUID().slice(0, 8)}@b2b-otp.test`;

  const { inv, guestId } = await invite(address, redirect, true);
  await waitFor(srv, address, new RegExp(escapeRE(inv.inviteRedeemUrl)));
  // Only a message that arrives after Continue carries the code.
  const before = new Set((await listTo(srv, address)).map((m) => m.id));

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  await openInvitation(page, inv);
  await expectStep(page, 'code');
  await page.screenshot({ path: join(srv.artifacts, 'redeem-code.png'), fullPage: true });
  const code = await passcode(srv, address, before);
  assert.match(code, /^\d{8}$/);

  // A wrong code first: the page asks again and nothing is redeemed.
  const wrong = String((Number(code) + 1) % 1e8).padStart(8, '0');
  await page.locator('input[name="code"]').fill(wrong);
  await page.locator('form:has(input[name="code"]) button[type="submit"]').click();
  await expectStep(page, 'code');
  assert.ok(await page.locator('.error').count() > 0, `a wrong code showed no error: ${await describePage(page)}`);
  assert.equal((await graph.user(guestId, guestProps)).externalUserState, 'PendingAcceptance');

  await page.locator('input[name="code"]').fill(code);
  await page.locator('form:has(input[name="code"]) button[type="submit"]').click();
  await accept(page, address, join(srv.artifacts, 'redeem-review-otp.png'));
  const arrived = await arriveAt(page, site.origin);
  assert.equal(arrived.href, redirect);

  const guest = await graph.user(guestId, guestProps);
  assert.equal(guest.externalUserState, 'Accepted');
  assert.equal(guest.userType, 'Guest');
  assert.ok((guest.identities ?? []).some((i) => i.issuer === 'mail'),
    `the guest's identities name no issuer "mail": ${JSON.stringify(guest.identities)}`);
  assert.deepEqual(site.requests.map((r) => r.url.pathname), ['/start']);
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});

test('a tampered invitation link shows the invalid-invitation page and sends no one anywhere', async (t) => {
  const site = await startTestApp();
  t.after(site.close);
  const address = `tampered-${randomUUID().slice(0, 8)}@b2b-otp.test`;
  const { inv, guestId } = await invite(address, `${site.origin}/never`, false);

  const ticket = new URL(inv.inviteRedeemUrl).searchParams.get('ticket');
  const dot = ticket.indexOf('.');
  assert.ok(dot > 0, `the ticket ${ticket} is not {tenant}.{secret}`);
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const tampered = [
    flip(ticket, ticket.length - 1), // the secret
    flip(ticket, dot + 1),
    ticket.slice(0, dot - 1) + (ticket[dot - 1] === '0' ? '1' : '0') + ticket.slice(dot), // the tenant id
  ];

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  for (const [i, bad] of tampered.entries()) {
    assert.notEqual(bad, ticket);
    const url = `${srv.base}/redeem?${new URLSearchParams({ ticket: bad })}`;
    const res = await page.goto(url);
    assert.equal(res.status(), 400, `tampered ticket ${i}: ${await describePage(page)}`);
    await expectStep(page, 'error');
    const error = await page.locator('.error').innerText();
    assert.match(error, /invitation link is invalid or has expired/, `tampered ticket ${i}`);
    assert.equal(await page.locator('form').count(), 0, `tampered ticket ${i}: the page offers a form`);
    assert.equal(page.url(), url, `tampered ticket ${i} moved the browser`);
    if (i === 0) await page.screenshot({ path: join(srv.artifacts, 'redeem-invalid.png'), fullPage: true });
  }

  // The untampered link still shows the invitation: the refusals above
  // were the tampering's doing, and they spent nothing.
  await page.goto(inv.inviteRedeemUrl);
  await expectStep(page, 'invite');
  assert.equal((await graph.user(guestId, guestProps)).externalUserState, 'PendingAcceptance');
  assert.deepEqual(site.requests, [], 'a tampered link reached the redirect URL');
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
