/**
 * Network tripwire for the bad-input corpus. Preloaded (NODE_OPTIONS=--require) into every Node
 * process the stack runner starts — its pass workers, the dynamic-provider host, the policy pack,
 * the command stand-in — it records in $RPLAN_TRIPWIRE_LOG, and refuses, every attempt to open a
 * TCP connection to anything but loopback (the runner's own gRPC) or a Unix socket. SSH (ssh2),
 * TLS and HTTP all connect through net.Socket.prototype.connect, so an empty log after a run means
 * no host was contacted. Each process that loads it also says so in $RPLAN_TRIPWIRE_LOG.loaded, so
 * the test can show the tripwire covered every process that could have reached a host. Plain
 * JavaScript so it loads before ts-node is registered.
 */
"use strict";
const fs = require("fs");
const net = require("net");

const LOG = process.env.RPLAN_TRIPWIRE_LOG;
if (LOG) fs.appendFileSync(`${LOG}.loaded`, JSON.stringify({ pid: process.pid, argv: process.argv.slice(1, 2) }) + "\n");

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/;

function target(args) {
  let a = args;
  if (Array.isArray(a[0])) a = a[0]; // net.connect passes its normalized [options, callback]
  const first = a[0];
  if (first && typeof first === "object") return { host: first.host, port: first.port, path: first.path };
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return { port: first, host: typeof a[1] === "string" ? a[1] : undefined };
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const t = target(args);
  if (!t.path && !LOOPBACK.test(t.host === undefined ? "localhost" : String(t.host))) {
    if (LOG) fs.appendFileSync(LOG, JSON.stringify({ pid: process.pid, host: t.host, port: t.port, argv: process.argv.slice(1, 3) }) + "\n");
    const err = new Error(`tripwire: connection to ${t.host}:${t.port} refused (the bad-input corpus must touch no host)`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};
