// The hosted pages a person meets outside the admin centre, walked in one
// browser in a branded tenant: the start page, the not-found and error
// cards, every step of a first sign-in, the device code pages, signing
// out, and an invitation from another tenant (inviter) redeemed up to its
// review and declined (or refused, if the inviter blocks the tenant). visit(name) is called on each page, for
// screenshots or checks.
import { createHash, randomBytes } from 'node:crypto';

import { arriveAt, expectStep, startTestApp } from './browser.mjs';
import { Graph } from './gatehouse.mjs';

// A 120×36 banner logo (PNG), uploaded as the tenant's bannerLogo.
const logoPNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAHgAAAAkCAIAAADNSmkJAAAAZklEQVR42u3Yqw0AIAxAwW7CRuzD9GBRBMEnkHupbCpONqqOFAhAgxZo0KC7Ui4LBy5o0KBBgwatu9DjnZk7L+6ABg0aNGjQoEGDBg0aNGjQoH+F9lQCDRo0aNCgQQs0aIEGDVrbahBpbJjhnJnNAAAAAElFTkSuQmCC', 'base64');

/** brand gives srv's tenant a background, text, links and an uploaded logo. */
export async function brand(srv) {
  const graph = new Graph(srv);
  const branding = `/organization/${srv.tenantId}/branding`;
  const res = await fetch(`${srv.base}/v1.0${branding}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${await graph.appToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      backgroundColor: '#1f4e79',
      signInPageText: `${srv.displayName ?? 'Our'} staff only. Contact the service desk if you cannot sign in.`,
      customAccountResetCredentialsUrl: 'https://help.example/reset',
      customTermsOfUseUrl: 'https://example.com/terms',
      customPrivacyAndCookiesUrl: 'https://example.com/privacy',
    }),
  });
  if (res.status !== 204) throw new Error(`PATCH branding: HTTP ${res.status}: ${await res.text()}`);
  const put = await fetch(`${srv.base}/v1.0${branding}/bannerLogo`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await graph.appToken()}`, 'content-type': 'image/png' },
    body: logoPNG,
  });
  if (put.status !== 204) throw new Error(`PUT bannerLogo: HTTP ${put.status}: ${await put.text()}`);
  return graph;
}

/** authorizeURL is a code flow request with PKCE to redirectUri. */
function authorizeURL(srv, clientId, redirectUri) {
  const verifier = randomBytes(32).toString('base64url');
  return `${srv.base}/${srv.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile User.Read',
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })}`;
}

async function card(page, step) {
  await page.locator(`main[data-step="${step}"]`).waitFor({ timeout: 15_000 });
}

/** walkHostedPages walks page through srv's branded hosted pages. */
export async function walkHostedPages(srv, inviter, page, visit) {
  const graph = await brand(srv);
  const site = await startTestApp();
  try {
    const redirect = `${site.origin}/callback`;
    const [app, device, user] = await Promise.all([
      graph.createWebApp('Hosted pages app', [redirect]),
      graph.createPublicApp('Hosted pages device app', [`${site.origin}/native`]),
      graph.createUser('hosted'),
    ]);

    await page.goto(`${srv.base}/`);
    await card(page, 'start');
    await visit('start');
    await page.goto(`${srv.base}/no-such-page`);
    await card(page, 'error');
    await visit('not-found');
    await page.goto(authorizeURL(srv, app.appId, `${site.origin}/not-registered`));
    await card(page, 'error');
    await visit('error');

    await page.goto(authorizeURL(srv, app.appId, redirect));
    await expectStep(page, 'username');
    await visit('username');
    await page.locator('input[name="username"]').fill(user.userPrincipalName);
    await page.locator('form:has(input[name="username"]) button[type="submit"]').click();
    await expectStep(page, 'password');
    await visit('password');
    await page.locator('input[name="password"]').fill(user.password);
    await page.locator('form:has(input[name="password"]) button[type="submit"]').click();
    await expectStep(page, 'kmsi');
    await visit('kmsi');
    await page.locator('button[name="stay"][value="yes"]').click();
    await expectStep(page, 'consent');
    await visit('consent');
    await page.locator('button[name="decision"][value="accept"]').click();
    await arriveAt(page, site.origin);

    const res = await fetch(`${srv.base}/${srv.tenantId}/oauth2/v2.0/devicecode`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: device.appId, scope: 'openid profile' }),
    });
    const code = await res.json();
    if (res.status !== 200) throw new Error(`devicecode: HTTP ${res.status}: ${JSON.stringify(code)}`);
    await page.goto(code.verification_uri);
    await expectStep(page, 'device');
    await visit('device');
    await page.locator('input[name="code"]').fill(code.user_code);
    await page.locator('form:has(input[name="code"]) button[type="submit"]').click();
    await expectStep(page, 'consent');
    await page.locator('button[name="decision"][value="accept"]').click();
    await card(page, 'message');
    await visit('device-done');

    await page.goto(`${srv.base}/${srv.tenantId}/oauth2/v2.0/logout`);
    await expectStep(page, 'signout');
    await visit('signout');
    await page.locator('main[data-step="signout"] button[type="submit"]').click();
    await card(page, 'message');
    await visit('signed-out');

    const inv = await new Graph(inviter).invite(user.userPrincipalName, `${site.origin}/welcome`, false);
    await page.goto(inv.inviteRedeemUrl);
    await expectStep(page, 'invite');
    await visit('invite');
    await page.locator('main[data-step="invite"] form button[type="submit"]').click();
    await expectStep(page, 'username');
    await page.locator('input[name="username"]').fill(user.userPrincipalName);
    await page.locator('form:has(input[name="username"]) button[type="submit"]').click();
    await expectStep(page, 'password');
    await page.locator('input[name="password"]').fill(user.password);
    await page.locator('form:has(input[name="password"]) button[type="submit"]').click();
    await expectStep(page, 'kmsi');
    await page.locator('button[name="stay"][value="no"]').click();
    // The inviting tenant may refuse the partner's users (the admin
    // centre's screenshots block them): then its refusal is the last page.
    await page.locator('main[data-step="review"], main[data-step="error"]').first().waitFor({ timeout: 15_000 });
    if (await page.locator('main[data-step="error"]').count() > 0) {
      await visit('redeem-refused');
      return;
    }
    await visit('review');
    await page.locator('button[name="decision"][value="cancel"]').click();
    await card(page, 'message');
    await visit('declined');
  } finally {
    await site.close();
  }
}
