// Preloaded into every Node process of the acceptance run (NODE_OPTIONS
// --import): refuses any TCP connection to a host outside the loopback range.
// The libraries under test (openid-client, MSAL) have defaults that reach for
// Microsoft's cloud; if one ever does, the test fails here, loudly, instead of
// a packet leaving the machine.
import net from 'node:net';

const connect = net.Socket.prototype.connect;

// connectTarget returns the host a Socket#connect call aims at, or undefined
// for a Unix socket. net.connect passes its normalized [options, callback]
// array; tls.connect and direct callers pass options or (port, host).
function connectTarget(args) {
  let [first] = args;
  if (Array.isArray(first)) [first] = first;
  if (first !== null && typeof first === 'object') {
    return first.path ? undefined : String(first.host ?? 'localhost');
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
  return typeof args[1] === 'string' ? args[1] : 'localhost';
}

export function isLoopbackHost(host) {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

net.Socket.prototype.connect = function connectLoopbackOnly(...args) {
  const host = connectTarget(args);
  if (host === undefined || isLoopbackHost(host)) return connect.apply(this, args);
  const err = new Error(`loopback-only: refused a connection to ${host}; tests may only talk to 127.0.0.1`);
  process.stderr.write(`${err.stack}\n`);
  process.nextTick(() => this.destroy(err));
  return this;
};
