// Preloaded with `node --import` into a child process: refuses every outbound connection and
// name lookup that is not loopback, and records each attempt (one JSON line) in the file named by
// NO_NETWORK_LOG, so a test can prove that a command made none.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const net = require('node:net');
const dns = require('node:dns');
const dgram = require('node:dgram');

const logPath = process.env.NO_NETWORK_LOG;

function record(kind, target) {
  if (logPath) appendFileSync(logPath, JSON.stringify({ kind, target: String(target), pid: process.pid }) + '\n');
  const error = new Error(`no-network guard: ${kind} to ${target} refused`);
  error.code = 'ENETUNREACH';
  return error;
}

// Proof for the test that the guard was active in this process.
if (logPath) appendFileSync(logPath, JSON.stringify({ kind: 'guard-loaded', target: process.argv[1] ?? '', pid: process.pid }) + '\n');

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // node's default is localhost
  const name = String(host).toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name) || name === '::ffff:127.0.0.1';
}

// net.Socket#connect is what net.connect, tls.connect, http(s) and undici (fetch) all end in.
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let path;
  if (first && typeof first === 'object') {
    host = first.host;
    path = first.path;
  } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
    path = first; // a unix socket path
  } else {
    host = args[1];
  }
  if (path === undefined && !isLoopback(host)) {
    const error = record('connect', `${host}:${first && typeof first === 'object' ? first.port : first}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return originalConnect.apply(this, args);
};

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveSrv', 'resolveMx']) {
  const original = dns[name];
  if (typeof original !== 'function') continue;
  dns[name] = function guarded(host, ...rest) {
    if (isLoopback(host)) return original.call(this, host, ...rest);
    const callback = rest.find((item) => typeof item === 'function');
    const error = record(`dns.${name}`, host);
    if (callback) process.nextTick(() => callback(error));
    else throw error;
  };
  if (dns.promises && typeof dns.promises[name] === 'function') {
    const originalPromise = dns.promises[name];
    dns.promises[name] = async function guarded(host, ...rest) {
      if (isLoopback(host)) return originalPromise.call(this, host, ...rest);
      throw record(`dns.promises.${name}`, host);
    };
  }
}

const originalSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function send(...args) {
  const address = args.find((item, index) => index > 0 && typeof item === 'string');
  if (!isLoopback(address)) throw record('udp', address);
  return originalSend.apply(this, args);
};

if (typeof globalThis.fetch === 'function') {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async function guardedFetch(input, init) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (!isLoopback(url.hostname)) throw record('fetch', url.href);
    return originalFetch(input, init);
  };
}
