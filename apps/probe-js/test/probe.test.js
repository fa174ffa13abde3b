'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');

const probe = require('../probe');
const tokeninfo = require('../lib/tokeninfo');

test('flags: Go syntax, unknown flags refused', () => {
  const d = { interval: '5s', label: '' };
  assert.deepStrictEqual(probe.parseFlags(['--interval=1s', '-label', 'x'], d), { interval: '1s', label: 'x' });
  assert.throws(() => probe.parseFlags(['--nope=1'], d), probe.UsageError);
  assert.throws(() => probe.parseFlags(['--label'], d), /needs an argument/);
});

test('classify', () => {
  assert.deepStrictEqual(probe.classify(null, 0, 200), ['ok', 200]);
  assert.deepStrictEqual(probe.classify(new Error('x'), 401, 401), ['unauthorized', 401]);
  assert.deepStrictEqual(probe.classify(new Error('x'), 0, 401), ['unauthorized', 401]);
  assert.deepStrictEqual(probe.classify(new Error('x'), 403, 403), ['http-403', 403]);
  assert.deepStrictEqual(probe.classify(new Error('refused'), 0, 0), ['error', 0]);
  assert.deepStrictEqual(probe.classify(new Error('decode'), 0, 200), ['error', 200]);
});

test('describe never prints the error object', () => {
  const rejected = { response: { statusCode: 401, request: { headers: { Authorization: 'Bearer secret' } } },
    body: { kind: 'Status', message: 'Unauthorized' } };
  assert.strictEqual(probe.describe(rejected, 401, rejected.body), 'HTTP 401: Unauthorized');
  assert.strictEqual(probe.describe(rejected, 401, '{"message":"Unauthorized"}'), 'HTTP 401: Unauthorized');
  assert.strictEqual(probe.describe(rejected, 0), 'call failed');
  const e = new Error('connect ECONNREFUSED');
  e.code = 'ECONNREFUSED';
  assert.strictEqual(probe.describe(e, 0), 'ECONNREFUSED: connect ECONNREFUSED');
});

test('token watcher reports changes only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-js-'));
  const file = path.join(dir, 'token');
  const w = new probe.TokenWatcher(file);
  assert.match(w.check().tokenError, /ENOENT/);
  assert.strictEqual(w.check(), null);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const tok = `${b64({ alg: 'RS256' })}.${b64({ iat: 1, exp: 601, nbf: 1 })}.c2ln`;
  fs.writeFileSync(file, tok + '\n');
  assert.deepStrictEqual(w.check(), { kind: 'token', tokenHash: tokeninfo.hash(tok), iat: 1, exp: 601, nbf: 1 });
  assert.strictEqual(w.check(), null);
  fs.writeFileSync(file, 'garbage');
  assert.match(w.check().tokenError, /compact JWT/);
  fs.rmSync(dir, { recursive: true });
});
