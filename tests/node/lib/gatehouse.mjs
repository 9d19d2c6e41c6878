// The Gatehouse server a test runs against, as ../run.mjs started it and
// described it in the environment, and the Graph calls that set up each
// test's own users and applications. Setup talks plain fetch to the token
// endpoint and /v1.0 so that the libraries under test are only ever used by
// the tests themselves.
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * @typedef {object} Server
 * @property {string} base       public URL, https://127.0.0.1:PORT
 * @property {string} tenantId
 * @property {string} domain     the tenant's verified domain
 * @property {string} issuer     {base}/{tenantId}/v2.0
 * @property {string} caFile     the development CA serve --dev-tls made
 * @property {string} artifacts  a temporary directory for screenshots
 * @property {{clientId: string, clientSecret: string}} automation
 * @property {{userPrincipalName: string, password: string}} admin
 */

/** @returns {Server} */
export function server() {
  const need = ['GATEHOUSE_BASE_URL', 'GATEHOUSE_TENANT', 'GATEHOUSE_DOMAIN', 'GATEHOUSE_CA', 'GATEHOUSE_ARTIFACTS'];
  const missing = need.filter((k) => !process.env[k]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not set: run these tests through tests/node/run, which starts the server`);
  }
  const tenant = JSON.parse(process.env.GATEHOUSE_TENANT);
  const base = process.env.GATEHOUSE_BASE_URL;
  return {
    base,
    tenantId: tenant.tenantId,
    domain: process.env.GATEHOUSE_DOMAIN,
    issuer: `${base}/${tenant.tenantId}/v2.0`,
    caFile: process.env.GATEHOUSE_CA,
    artifacts: process.env.GATEHOUSE_ARTIFACTS,
    automation: tenant.automation,
    admin: tenant.admin,
  };
}

/**
 * partner is the second tenant run.mjs made, Fabrikam, on the same server,
 * in the shape of server(): a home tenant whose users the first tenant
 * invites as guests.
 * @returns {Server & {displayName: string}}
 */
export function partner() {
  const srv = server();
  if (!process.env.GATEHOUSE_PARTNER) {
    throw new Error('GATEHOUSE_PARTNER not set: run these tests through tests/node/run, which creates the partner tenant');
  }
  const p = JSON.parse(process.env.GATEHOUSE_PARTNER);
  return {
    ...srv,
    tenantId: p.tenantId,
    displayName: p.displayName,
    domain: p.domain,
    issuer: `${srv.base}/${p.tenantId}/v2.0`,
    automation: p.automation,
    admin: p.admin,
  };
}

/** The delegated scopes every interactive test asks for. */
export const userScopes = 'openid profile email offline_access User.Read';

/**
 * readJSON returns a response's JSON body, failing with the status and the
 * raw body when the status is not the expected one.
 */
async function readJSON(res, want, what) {
  const text = await res.text();
  if (res.status !== want) {
    throw new Error(`${what}: HTTP ${res.status}, want ${want}: ${text}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: body is not JSON (${err.message}): ${text}`);
  }
}

/**
 * Graph calls as a tenant's automation application (app-only): the
 * tenant of srv, server() or partner().
 */
export class Graph {
  /** @param {Server} srv */
  constructor(srv) {
    this.srv = srv;
    this.token = undefined;
  }

  // appToken is fetched once and shared, also by calls made concurrently.
  appToken() {
    this.token ??= fetch(`${this.srv.base}/${this.srv.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.srv.automation.clientId,
        client_secret: this.srv.automation.clientSecret,
        scope: `${this.srv.base}/.default`,
      }),
    }).then((res) => readJSON(res, 200, 'client_credentials for the automation app')).then((body) => body.access_token);
    return this.token;
  }

  async call(method, path, body, want) {
    const res = await fetch(`${this.srv.base}/v1.0${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.appToken()}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return readJSON(res, want, `${method} /v1.0${path}`);
  }

  /**
   * createUser makes an enabled member of the tenant with a random password
   * that needs no change at first sign-in.
   */
  async createUser(nickname) {
    const mailNickname = `${nickname}-${randomUUID().slice(0, 8)}`;
    const password = `Pw-${randomBytes(12).toString('base64url')}-9a`;
    const displayName = `${nickname} (node acceptance)`;
    const userPrincipalName = `${mailNickname}@${this.srv.domain}`;
    const user = await this.call('POST', '/users', {
      accountEnabled: true,
      displayName,
      mailNickname,
      userPrincipalName,
      passwordProfile: { password, forceChangePasswordNextSignIn: false },
    }, 201);
    return { id: user.id, userPrincipalName: user.userPrincipalName, displayName, password };
  }

  /**
   * invite invites an email address as a guest (POST /invitations) and
   * returns the invitation resource.
   */
  invite(email, inviteRedirectUrl, sendInvitationMessage) {
    return this.call('POST', '/invitations', { invitedUserEmailAddress: email, inviteRedirectUrl, sendInvitationMessage }, 201);
  }

  /** user reads a user with $select. */
  user(id, select) {
    return this.call('GET', `/users/${encodeURIComponent(id)}?${new URLSearchParams({ $select: select.join(',') })}`, undefined, 200);
  }

  /** createWebApp registers a confidential client and gives it a secret. */
  async createWebApp(displayName, redirectUris) {
    const app = await this.call('POST', '/applications', { displayName, web: { redirectUris } }, 201);
    const secret = await this.call('POST', `/applications/${app.id}/addPassword`, {}, 200);
    if (!secret.secretText) throw new Error(`addPassword for ${displayName} returned no secretText: ${JSON.stringify(secret)}`);
    return { appId: app.appId, displayName, redirectUris, secret: secret.secretText };
  }

  /** createPublicApp registers a public (native) client: PKCE, no secret. */
  async createPublicApp(displayName, redirectUris) {
    const app = await this.call('POST', '/applications', { displayName, publicClient: { redirectUris } }, 201);
    return { appId: app.appId, displayName, redirectUris };
  }
}

/** bearerGet fetches a Graph path with a bearer token, expecting 200 JSON. */
export async function bearerGet(srv, path, accessToken) {
  const res = await fetch(`${srv.base}/v1.0${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
  return readJSON(res, 200, `GET /v1.0${path}`);
}

/**
 * decodeJWT returns a JWT's payload without verifying it, for assertions on
 * tokens a library has already accepted.
 */
export function decodeJWT(jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new Error(`not a JWS compact serialization: ${jwt.slice(0, 40)}…`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}
