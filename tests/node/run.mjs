// Driver of the Node acceptance tests: builds ./cmd/gatehouse of the main
// module, creates two tenants with `tenant create --json` (the one the tests
// sign in to, and a partner whose users are invited to it), starts `serve
// --dev-tls` on a free loopback port, waits for /readyz, and then runs
// test/*.test.mjs under node's test runner against it. The tests need the
// server's development CA in NODE_EXTRA_CA_CERTS, which Node reads only at
// start-up, so they run in processes started after the server.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const mainModule = 'module github.com/gatehouse-id/gatehouse\n';
const tenantDomain = 'node-acceptance.test';
const partnerName = 'Fabrikam';
const partnerDomain = 'fabrikam-partner.test';
const readyTimeoutMs = 60_000;
const testsTimeoutMs = 240_000;
const stopTimeoutMs = 10_000;
const logTailBytes = 16 << 10;

const execFileAsync = promisify(execFile);

// mainModuleRoot is two levels up; checking its go.mod makes a moved
// directory fail loudly instead of building something else.
function mainModuleRoot() {
  const root = resolve(here, '..', '..');
  const gomod = readFileSync(join(root, 'go.mod'), 'utf8');
  if (!gomod.includes(mainModule)) throw new Error(`${root}/go.mod does not declare ${mainModule.trim()}`);
  return root;
}

async function buildGatehouse(root, bin) {
  try {
    // GOWORK=off: the main module must build on its own.
    await execFileAsync('go', ['build', '-o', bin, './cmd/gatehouse'], { cwd: root, env: { ...process.env, GOWORK: 'off' } });
  } catch (err) {
    throw new Error(`go build ./cmd/gatehouse in ${root} failed:\n${err.stderr || err.message}`);
  }
}

// createTenant insists on exactly the JSON object the contract promises.
async function createTenant(bin, store, dataDir, displayName, domain) {
  const args = ['tenant', 'create', '--display-name', displayName, '--domain', domain,
    '--store', store, '--data-dir', dataDir, '--json'];
  let stdout;
  try {
    ({ stdout } = await execFileAsync(bin, args));
  } catch (err) {
    throw new Error(`gatehouse ${args.join(' ')} failed: ${err.message}\n${err.stdout}\n${err.stderr}`);
  }
  let tenant;
  try {
    tenant = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`tenant create --json did not print one JSON value (${err.message}):\n${stdout}`);
  }
  const fields = {
    tenantId: tenant?.tenantId,
    'admin.userPrincipalName': tenant?.admin?.userPrincipalName,
    'admin.password': tenant?.admin?.password,
    'automation.clientId': tenant?.automation?.clientId,
    'automation.clientSecret': tenant?.automation?.clientSecret,
  };
  const empty = Object.keys(fields).filter((k) => typeof fields[k] !== 'string' || fields[k] === '');
  if (empty.length > 0) throw new Error(`tenant create --json lacks ${empty.join(', ')}:\n${stdout}`);
  if (!tenant.admin.userPrincipalName.toLowerCase().endsWith(`@${domain}`)) {
    throw new Error(`the admin ${tenant.admin.userPrincipalName} is not in the tenant's domain ${domain}`);
  }
  return tenant;
}

// freeLoopbackPort asks the kernel for an unused port. Another process could
// take it before the server binds; that shows up as a start-up failure.
async function freeLoopbackPort() {
  const l = net.createServer();
  await new Promise((res, rej) => l.once('error', rej).listen(0, '127.0.0.1', res));
  const { port } = l.address();
  await new Promise((res) => l.close(res));
  return port;
}

// stoppers end the processes this driver started; SIGINT and SIGTERM run
// them before the driver exits.
const stoppers = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    Promise.allSettled([...stoppers].map((stop) => stop()))
      .then(() => process.exit(128 + os.constants.signals[sig]));
  });
}

// spawnTied starts a child that the kernel kills if this driver dies without
// cleaning up (SIGKILL, a crash): setpriv sets the parent-death signal and
// execs, so the pid stays the child's. Elsewhere the child is started as is.
function spawnTied(cmd, args, options) {
  if (!existsSync('/usr/bin/setpriv')) return spawn(cmd, args, options);
  return spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], options);
}

/** startServer runs gatehouse with args, logging to logDir; stop() ends it. */
function startServer(bin, args, logDir) {
  const outPath = join(logDir, 'serve.stdout.log');
  const errPath = join(logDir, 'serve.stderr.log');
  const out = openSync(outPath, 'w');
  const errFd = openSync(errPath, 'w');
  const child = spawnTied(bin, args, { stdio: ['ignore', out, errFd] });
  closeSync(out);
  closeSync(errFd);
  let running = true;
  const exited = new Promise((res) => child.once('exit', (code, signal) => {
    running = false;
    res({ code, signal });
  }));
  const stop = async () => {
    if (!running) return;
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  };
  stoppers.add(stop);
  return {
    exited,
    running: () => running,
    stdout: () => readFileSync(outPath, 'utf8'),
    logTail: () => [outPath, errPath].map((p) => `--- ${p}\n${tail(p)}`).join('\n'),
    stop,
  };
}

function tail(path) {
  const b = readFileSync(path);
  return b.subarray(Math.max(0, b.length - logTailBytes)).toString('utf8');
}

function probe(url, ca) {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve(err.message));
  });
}

// waitReady polls /readyz over HTTPS, trusting only the development CA,
// which serve writes before it listens.
async function waitReady(server, base, caFile) {
  const deadline = Date.now() + readyTimeoutMs;
  let last = 'not probed yet';
  while (Date.now() < deadline) {
    if (!server.running()) {
      const { code, signal } = await server.exited;
      throw new Error(`gatehouse serve exited (${signal ?? code}) before it was ready; last probe: ${last}`);
    }
    if (existsSync(caFile)) {
      last = await probe(`${base}/readyz`, readFileSync(caFile));
      if (last === undefined) return;
    } else {
      last = `${caFile} does not exist yet`;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`gatehouse serve was not ready after ${readyTimeoutMs} ms; last probe: ${last}`);
}

// runTests runs node's test runner in a process group of its own, so that
// stopping it reaches the per-file processes the runner starts, whose
// Playwright closes its browser on SIGTERM.
// The files are those named on the command line (relative to this
// directory), or else every test/*.test.mjs.
function runTests(env) {
  const named = process.argv.slice(2);
  const files = named.length > 0 ? named
    : readdirSync(join(here, 'test')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join('test', f));
  if (files.length === 0) throw new Error('no test/*.test.mjs to run');
  for (const f of files) {
    if (!existsSync(join(here, f))) throw new Error(`${f} does not exist under ${here}`);
  }
  const child = spawnTied(process.execPath, ['--test', '--test-reporter=spec', ...files],
    { cwd: here, env, stdio: 'inherit', detached: true });
  const exited = new Promise((res) => child.once('exit', (code, signal) => res(signal ? 1 : code)));
  const signalGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  };
  const stop = async () => {
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  };
  stoppers.add(stop);
  const timer = setTimeout(() => {
    console.error(`tests still running after ${testsTimeoutMs} ms; stopping them`);
    stop();
  }, testsTimeoutMs);
  return exited.finally(() => {
    clearTimeout(timer);
    stoppers.delete(stop);
  });
}

async function main() {
  const root = mainModuleRoot();
  const tmp = mkdtempSync(join(os.tmpdir(), 'gatehouse-node-'));
  const bin = join(tmp, 'gatehouse');
  const store = `sqlite:${join(tmp, 'gatehouse.db')}`;
  const dataDir = join(tmp, 'data');
  const artifacts = join(tmp, 'artifacts');
  mkdirSync(artifacts);
  let server;
  let ok = false;
  try {
    console.log(`== node acceptance: building gatehouse in ${tmp}`);
    await buildGatehouse(root, bin);
    // One after the other: both write the same SQLite store.
    const tenant = await createTenant(bin, store, dataDir, 'Node Acceptance', tenantDomain);
    const partner = await createTenant(bin, store, dataDir, partnerName, partnerDomain);
    if (partner.tenantId === tenant.tenantId) throw new Error(`both tenants got the id ${tenant.tenantId}`);
    const addr = `127.0.0.1:${await freeLoopbackPort()}`;
    const base = `https://${addr}`;
    const caFile = join(dataDir, 'dev-ca.pem');
    server = startServer(bin, ['serve', '--store', store, '--data-dir', dataDir, '--addr', addr, '--dev-tls', '--drain-period', '0'], tmp);
    await waitReady(server, base, caFile);
    if (!server.stdout().includes(caFile)) {
      throw new Error(`serve --dev-tls did not print its CA ${caFile} on stdout:\n${server.stdout()}`);
    }
    console.log(`== node acceptance: gatehouse serving ${base}, tenant ${tenant.tenantId}, partner ${partner.tenantId}`);
    const code = await runTests({
      ...process.env,
      NODE_EXTRA_CA_CERTS: caFile,
      NODE_OPTIONS: `--import=${join(here, 'lib', 'loopback-only.mjs')}`,
      GATEHOUSE_BASE_URL: base,
      GATEHOUSE_TENANT: JSON.stringify(tenant),
      GATEHOUSE_DOMAIN: tenantDomain,
      GATEHOUSE_PARTNER: JSON.stringify({ ...partner, displayName: partnerName, domain: partnerDomain }),
      GATEHOUSE_CA: caFile,
      GATEHOUSE_ARTIFACTS: artifacts,
    });
    ok = code === 0;
    if (!ok) console.error(`gatehouse serve logs (tail):\n${server.logTail()}`);
    return code;
  } finally {
    await server?.stop();
    if (ok && !process.env.GATEHOUSE_KEEP_TMP) {
      rmSync(tmp, { recursive: true, force: true });
    } else {
      console.log(`== node acceptance: kept ${tmp} (screenshots in ${artifacts})`);
    }
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`node acceptance: ${err.stack ?? err}`);
    process.exitCode = 1;
  },
);
