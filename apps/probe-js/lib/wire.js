'use strict';
// wire records what really went out: node's http.request and https.request are wrapped,
// so every request any client library builds on them (request in client-node 0.x,
// node-fetch in 1.x) is seen with the Authorization header it carries, and its response
// status. This is the JavaScript counterpart of the Go probe's transport recorder; the
// hash is of the header the library set, never recomputed from the token file.

const http = require('http');
const https = require('https');
const { hashAuthorization } = require('./tokeninfo');

let current = null; // the observation of the call in flight
let installed = false;

// install wraps http.request and https.request (once). Libraries look the function up on
// the module object at each request, so the wrapper sees them all.
function install() {
  if (installed) return;
  installed = true;
  for (const mod of [http, https]) {
    const orig = mod.request;
    mod.request = function request(...args) {
      const req = orig.apply(this, args);
      if (current) track(current, req);
      return req;
    };
  }
}

function track(obs, req) {
  obs.requests++;
  const seen = { authHash: '', note: '', status: 0 };
  obs.last = seen; // the last request of a call describes it, as in the Go probe
  const read = () => {
    const r = hashAuthorization(req.getHeader('authorization'));
    seen.authHash = r.hash || '';
    seen.note = r.error || '';
  };
  read();
  // Headers may still be set until they are sent; read them again with the response.
  req.once('response', (res) => {
    read();
    seen.status = res.statusCode;
  });
}

// begin starts observing one call; end returns what its requests showed:
// {requests, authHash, note, status}.
function begin() {
  install();
  current = { requests: 0, last: null };
  return current;
}

function end(obs) {
  if (current === obs) current = null;
  if (obs.requests === 0 || !obs.last) {
    return { requests: 0, authHash: '', status: 0,
      note: "no HTTP request reached node's http/https.request: the token sent is not observable" };
  }
  return { requests: obs.requests, authHash: obs.last.authHash, note: obs.last.note, status: obs.last.status };
}

module.exports = { install, begin, end };
