'use strict';
// Token names and claims, the same as the Go probe's package tokeninfo
// (apps/probe/tokeninfo): a token is named by the first 12 hex digits of the SHA-256 of
// its bytes, so the harness can compare a call's authHash with the tokenHash of each
// token version without any token ever being printed.

const crypto = require('crypto');

// hash names a token: the first 12 hex characters of the SHA-256 of the raw token
// (a string is hashed as its UTF-8 bytes, like a Go string).
function hash(token) {
  return crypto.createHash('sha256').update(token).digest('hex').slice(0, 12);
}

// Go's strings.TrimSpace: Unicode White_Space at both ends (String.prototype.trim also
// removes U+FEFF, which Go keeps).
const SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');
function trimSpace(s) {
  return s.replace(TRIM, '');
}

const ERR_NO_BEARER = 'no bearer token in Authorization header';

// hashAuthorization hashes the token of an "Authorization: Bearer <token>" header value
// with hash; a header without a bearer token gives {error}. Same rules as Go's
// tokeninfo.HashAuthorization.
function hashAuthorization(header) {
  if (Array.isArray(header)) header = header.length === 1 ? header[0] : undefined;
  if (typeof header !== 'string') return { error: ERR_NO_BEARER };
  const h = trimSpace(header);
  const i = h.indexOf(' ');
  if (i < 0) return { error: ERR_NO_BEARER };
  const scheme = h.slice(0, i);
  const token = trimSpace(h.slice(i + 1));
  if (scheme.toLowerCase() !== 'bearer' || token === '') return { error: ERR_NO_BEARER };
  return { hash: hash(token) };
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const MAX_SAFE_DATE = 2 ** 62; // Go refuses |f| > MaxInt64/2

// numericDate accepts the integer form Kubernetes issues and the fractional form RFC 7519
// also allows; zero means absent.
function numericDate(name, v) {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > MAX_SAFE_DATE) {
    throw new Error(`JWT claim "${name}": not a NumericDate: ${JSON.stringify(v)}`);
  }
  return Math.trunc(v);
}

// decode returns the iat/exp/nbf claims (Unix seconds, 0 when absent) of a compact JWT.
// The signature is not verified.
function decode(token) {
  const parts = trimSpace(String(token)).split('.');
  if (parts.length !== 3) {
    throw new Error(`not a compact JWT: ${parts.length} dot-separated parts, want 3`);
  }
  const b64 = parts[1].replace(/=+$/, '');
  if (!B64URL.test(b64) || b64.length % 4 === 1) {
    throw new Error('JWT payload is not base64url');
  }
  let payload;
  try {
    payload = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
  } catch (e) {
    throw new Error('JWT payload is not a JSON object');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new Error('JWT payload is not a JSON object');
  }
  return {
    iat: numericDate('iat', payload.iat),
    exp: numericDate('exp', payload.exp),
    nbf: numericDate('nbf', payload.nbf),
  };
}

module.exports = { hash, hashAuthorization, decode, trimSpace, ERR_NO_BEARER };
