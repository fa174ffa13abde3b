'use strict';
// Unit tests of the probe's helpers: node --test apps/probe-js/test/
// (go test ./internal/probes runs them too, and checks the hashes against Go's).

const test = require('node:test');
const assert = require('node:assert');
const http = require('http');

const duration = require('../lib/duration');
const probelog = require('../lib/probelog');
const tokeninfo = require('../lib/tokeninfo');
const wire = require('../lib/wire');

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${b64({ alg: 'RS256' })}.${b64(claims)}.c2ln`;

test('hash is the first 12 hex digits of the SHA-256', () => {
  // sha256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  assert.strictEqual(tokeninfo.hash(''), 'e3b0c44298fc');
  assert.strictEqual(tokeninfo.hash('abc'), 'ba7816bf8f01');
  assert.strictEqual(tokeninfo.hash(Buffer.from('abc')), 'ba7816bf8f01');
});

test('hashAuthorization', () => {
  const t = jwt({ exp: 1 });
  assert.deepStrictEqual(tokeninfo.hashAuthorization(`Bearer ${t}`), { hash: tokeninfo.hash(t) });
  assert.deepStrictEqual(tokeninfo.hashAuthorization(` bearer  ${t} `), { hash: tokeninfo.hash(t) });
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', ['a', 'b']]) {
    assert.deepStrictEqual(tokeninfo.hashAuthorization(h), { error: tokeninfo.ERR_NO_BEARER }, String(h));
  }
});

test('decode reads iat/exp/nbf', () => {
  assert.deepStrictEqual(tokeninfo.decode(jwt({ iat: 100, exp: 700, nbf: 100, sub: 'x' })), { iat: 100, exp: 700, nbf: 100 });
  assert.deepStrictEqual(tokeninfo.decode(jwt({ exp: 700.9 })), { iat: 0, exp: 700, nbf: 0 });
  assert.throws(() => tokeninfo.decode('a.b'), /2 dot-separated parts, want 3/);
  assert.throws(() => tokeninfo.decode('a.b+c.d'), /base64url/);
  assert.throws(() => tokeninfo.decode(`a.${Buffer.from('[1]').toString('base64url')}.c`), /JSON object/);
  assert.throws(() => tokeninfo.decode(jwt({ exp: 'soon' })), /NumericDate/);
});

test('durations parse and print like Go', () => {
  const cases = [['5s', 5e9, '5s'], ['1m', 60e9, '1m0s'], ['1m30s', 90e9, '1m30s'], ['500ms', 5e8, '500ms'],
    ['1.5s', 1.5e9, '1.5s'], ['2h', 7200e9, '2h0m0s'], ['1µs', 1e3, '1µs'], ['0', 0, '0s'], ['100ns', 100, '100ns']];
  for (const [in_, ns, out] of cases) {
    assert.strictEqual(duration.parse(in_), ns, in_);
    assert.strictEqual(duration.format(ns), out, in_);
  }
  for (const bad of ['', '5', 's', '1x', '.s', '5s x']) assert.throws(() => duration.parse(bad), /duration|unit/, bad);
});

test('cleanError redacts tokens and truncates', () => {
  const t = jwt({ exp: 1 });
  const s = probelog.cleanError(`failed with ${t} and Authorization: Bearer abc.def`);
  assert.ok(!s.includes(t) && !s.includes('abc.def'), s);
  assert.match(s, /<redacted>/);
  assert.strictEqual(Array.from(probelog.cleanError('é'.repeat(400))).length, 301);
});

test('httpOutcome', () => {
  assert.strictEqual(probelog.httpOutcome(200), 'ok');
  assert.strictEqual(probelog.httpOutcome(401), 'unauthorized');
  assert.strictEqual(probelog.httpOutcome(403), 'http-403');
});

test('writer emits one line per call, omitting empty fields', () => {
  let out = '';
  const emit = probelog.writer({ write: (s) => { out += s; } }, 'js-x', () => new Date(0));
  emit({ kind: 'call', seq: 1, outcome: 'ok', status: 200, error: '', authHashNote: '', requests: 1 });
  assert.strictEqual(out, '{"time":"1970-01-01T00:00:00.000Z","kind":"call","label":"js-x","seq":1,"outcome":"ok","status":200,"requests":1}\n');
});

test('wire sees the Authorization header a request carried', async () => {
  const server = http.createServer((req, res) => { res.statusCode = 401; res.end('{}'); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  try {
    const send = (headers) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/api', headers }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject);
      req.end();
    });
    let obs = wire.begin();
    await send({ Authorization: 'Bearer first' });
    await send({ Authorization: 'Bearer second' });
    assert.deepStrictEqual(wire.end(obs), { requests: 2, authHash: tokeninfo.hash('second'), note: '', status: 401 });

    obs = wire.begin();
    await send({});
    assert.deepStrictEqual(wire.end(obs), { requests: 1, authHash: '', note: tokeninfo.ERR_NO_BEARER, status: 401 });

    obs = wire.begin();
    const none = wire.end(obs);
    assert.strictEqual(none.requests, 0);
    assert.match(none.note, /not observable/);

    await send({ Authorization: 'Bearer outside' }); // no call in flight: not recorded
  } finally {
    server.close();
  }
});
