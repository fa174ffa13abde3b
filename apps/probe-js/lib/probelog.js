'use strict';
// The JSON lines of the Go probe's package probelog (apps/probe/probelog), written by the
// JavaScript probe: kinds start, token and call, the same field names. The start line
// names the JavaScript client (clientLibrary, clientLibraryVersion, nodeVersion) where
// the Go probe writes clientGo and goVersion; the harness's parser ignores fields it does
// not know.

const KIND_START = 'start';
const KIND_TOKEN = 'token';
const KIND_CALL = 'call';

const OUTCOME_OK = 'ok';
const OUTCOME_UNAUTHORIZED = 'unauthorized';
const OUTCOME_ERROR = 'error';

// httpOutcome is the outcome of a call answered with HTTP status code.
function httpOutcome(code) {
  if (code >= 200 && code < 300) return OUTCOME_OK;
  if (code === 401) return OUTCOME_UNAUTHORIZED;
  return `http-${code}`;
}

const MAX_ERROR = 300;
// A compact JWT (its header always starts with base64 of `{"`), and any bearer
// credential, never reach the log.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;

// cleanError redacts JWT-shaped strings and bearer credentials from an error text and
// truncates it to 300 characters.
function cleanError(s) {
  s = String(s).replace(JWT_LIKE, '<redacted>').replace(BEARER, '$1<redacted>');
  const r = Array.from(s);
  if (r.length > MAX_ERROR) s = r.slice(0, MAX_ERROR).join('') + '…';
  return s;
}

// writer returns emit(line): one JSON line per call on out (one write each), with the
// time and the label first, as the Go probe writes them.
function writer(out, label, now = () => new Date()) {
  return (fields) => {
    const line = { time: now().toISOString(), kind: fields.kind };
    if (label) line.label = label;
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'kind' || v === undefined || v === null || v === '' || v === 0) continue; // omitempty
      line[k] = v;
    }
    out.write(JSON.stringify(line) + '\n');
  };
}

module.exports = {
  KIND_START, KIND_TOKEN, KIND_CALL,
  OUTCOME_OK, OUTCOME_UNAUTHORIZED, OUTCOME_ERROR,
  httpOutcome, cleanError, writer,
};
