// @azure/msal-node, unmodified, as a confidential client of a Gatehouse
// tenant over HTTPS (the development CA comes from NODE_EXTRA_CA_CERTS):
// the authority is https://127.0.0.1:PORT/{tenantId} and the only other
// setting is knownAuthorities, which makes MSAL trust that host instead of
// asking Microsoft's instance discovery. MSAL runs in its default (AAD)
// protocol mode, as it would against Entra.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';

import { openBrowser, signInFresh, startTestApp } from '../lib/browser.mjs';
import { bearerGet, decodeJWT, Graph, server } from '../lib/gatehouse.mjs';

const srv = server();
const graph = new Graph(srv);
const authority = `${srv.base}/${srv.tenantId}`;

function confidentialClient(clientId, clientSecret) {
  return new ConfidentialClientApplication({
    auth: { clientId, clientSecret, authority, knownAuthorities: [new URL(srv.base).host] },
  });
}

test('acquireTokenByClientCredential for the automation app lists users through Graph', async () => {
  const cca = confidentialClient(srv.automation.clientId, srv.automation.clientSecret);
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${srv.base}/.default`] });
  assert.ok(result, 'no result');
  assert.equal(result.tokenType, 'Bearer');
  assert.ok(result.expiresOn > new Date(), `expiresOn ${result.expiresOn} is not in the future`);

  // An app-only token of this tenant for the Graph API; MSAL reads no
  // claims of its own from it (there is no ID token).
  const at = decodeJWT(result.accessToken);
  assert.equal(at.tid, srv.tenantId);
  assert.equal(at.aud, srv.base);
  assert.equal(at.appid, srv.automation.clientId);

  const users = await bearerGet(srv, '/users', result.accessToken);
  assert.ok(users.value.some((u) => u.userPrincipalName === srv.admin.userPrincipalName),
    `the tenant's admin is not among ${users.value.map((u) => u.userPrincipalName)}`);
});

test('getAuthCodeUrl, browser sign-in, acquireTokenByCode with PKCE, then a silent refresh', async (t) => {
  const rp = await startTestApp();
  t.after(rp.close);
  const redirectUri = `${rp.origin}/auth/redirect`;
  const app = await graph.createWebApp('MSAL web app', [redirectUri]);
  const user = await graph.createUser('msal');
  const cca = confidentialClient(app.appId, app.secret);

  const cryptoProvider = new CryptoProvider();
  const pkce = await cryptoProvider.generatePkceCodes();
  const state = cryptoProvider.createNewGuid();
  const nonce = cryptoProvider.createNewGuid();
  const scopes = ['User.Read'];
  const authorizeURL = new URL(await cca.getAuthCodeUrl({
    scopes, redirectUri, state, nonce, codeChallenge: pkce.challenge, codeChallengeMethod: 'S256',
  }));
  assert.equal(`${authorizeURL.origin}${authorizeURL.pathname}`, `${authority}/oauth2/v2.0/authorize`);

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const callback = await signInFresh(browser.page, authorizeURL, user, rp.origin);
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback}`);

  const result = await cca.acquireTokenByCode(
    { code, scopes, redirectUri, codeVerifier: pkce.verifier, state, nonce },
    { code, state: callback.searchParams.get('state') ?? undefined },
  );
  const claims = result.idTokenClaims;
  assert.equal(claims.tid, srv.tenantId);
  assert.equal(claims.oid, user.id);
  assert.equal(claims.preferred_username, user.userPrincipalName);
  assert.equal(claims.aud, app.appId);
  assert.equal(claims.iss, srv.issuer);
  assert.equal(claims.nonce, nonce);
  // MSAL keys its cache by client_info, which the token endpoint returns
  // because MSAL sends client_info=1.
  assert.equal(result.account.homeAccountId, `${user.id}.${srv.tenantId}`);
  assert.equal(result.account.tenantId, srv.tenantId);
  assert.equal(result.account.username, user.userPrincipalName);
  assert.ok(result.scopes.some((s) => s.toLowerCase() === 'user.read'), `scopes ${result.scopes}`);
  assert.equal((await bearerGet(srv, '/me', result.accessToken)).id, user.id);

  const cached = await cca.getTokenCache().getAllAccounts();
  assert.deepEqual(cached.map((a) => a.homeAccountId), [result.account.homeAccountId]);

  // forceRefresh makes MSAL redeem the cached refresh token.
  const silent = await cca.acquireTokenSilent({ account: result.account, scopes, forceRefresh: true });
  assert.equal(silent.fromCache, false);
  assert.notEqual(silent.accessToken, result.accessToken);
  assert.equal(silent.account.homeAccountId, result.account.homeAccountId);
  assert.equal((await bearerGet(srv, '/me', silent.accessToken)).id, user.id);

  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
