// Drives a Better Auth compatible server with the REAL `better-auth/client`,
// the way an application would.
//
//   node client-flow.mjs http://127.0.0.1:3000
//
// The baseURL may be the server origin (the client appends /api/auth) or a full
// URL ending in the auth base path.
//
// Exit 0 and print one JSON line {"ok":true,"steps":N} on success; exit 1 with a
// message on stderr naming the failing step (seen vs expected) otherwise.
//
// Node has no cookie jar, so every client gets a customFetchImpl that keeps one
// (parses Set-Cookie, sends Cookie) and always sends `Origin: <baseURL origin>`:
// Node's fetch sends Sec-Fetch-Mode, and with that Better Auth requires an Origin.
//
// Notes on the 1.7.25 client as shipped (followed here):
// * Results are `{ data, error }` (better-fetch); errors do not throw.
// * The client's JSON parser turns ISO-8601 strings into Date objects, so
//   session/user timestamps arrive as Date instances. The flow checks that, which
//   also proves the server's timestamp format is one the client recognises.
// * GET calls take `{ query?, fetchOptions? }`; POST calls take the body object,
//   with fetchOptions either as a `fetchOptions` key or as the second argument.
import { createAuthClient } from "better-auth/client";
import { randomUUID } from "node:crypto";

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node client-flow.mjs <baseURL>");
  process.exit(2);
}
const origin = new URL(baseURL).origin;

let steps = 0;
let currentStep = "(start)";

class FlowError extends Error {}

function fail(what, seen, expected) {
  throw new FlowError(
    `client-flow: step ${steps + 1} "${currentStep}" failed: ${what}\n` +
      `  seen:     ${show(seen)}\n` +
      `  expected: ${expected}`,
  );
}

function show(v) {
  try {
    const s = JSON.stringify(v, (_k, x) => (x instanceof Error ? { message: x.message } : x));
    return s === undefined ? String(v) : s.length > 2000 ? s.slice(0, 2000) + "…" : s;
  } catch {
    return String(v);
  }
}

async function step(name, fn) {
  currentStep = name;
  const out = await fn();
  steps += 1;
  return out;
}

// Unwraps a better-fetch result; a transport error or an HTTP error fails the step.
function ok(res, what) {
  if (!res || typeof res !== "object" || !("data" in res)) fail(`${what}: not a client result`, res, "{data, error}");
  if (res.error) fail(`${what}: server returned an error`, res.error, "error == null");
  return res.data;
}

function eq(seen, expected, what) {
  if (seen !== expected) fail(what, seen, show(expected));
}

function isDate(v) {
  return v instanceof Date && !Number.isNaN(v.getTime());
}

// A fetch with a tiny cookie jar (jar = null: no cookies at all) that always sends Origin.
function makeFetch(jar) {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("origin", origin);
    if (jar && jar.size > 0) {
      headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(input, { ...init, headers });
    if (jar) {
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(";");
        const eqAt = pair.indexOf("=");
        if (eqAt < 1) continue;
        const name = pair.slice(0, eqAt).trim();
        const value = pair.slice(eqAt + 1).trim();
        const expired = attrs.some((a) => {
          const [k, v] = a.split("=").map((s) => s.trim());
          if (k.toLowerCase() === "max-age") return Number(v) <= 0;
          if (k.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
          return false;
        });
        if (expired || value === "") jar.delete(name);
        else jar.set(name, value);
      }
    }
    return res;
  };
}

function makeClient(jar) {
  return createAuthClient({ baseURL, fetchOptions: { customFetchImpl: makeFetch(jar) } });
}

const SESSION_KEYS = ["id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent"];

function checkSessionObject(s, userId, what) {
  if (!s || typeof s !== "object") fail(`${what}: not an object`, s, "a session object");
  for (const k of SESSION_KEYS) if (!(k in s)) fail(`${what}: key "${k}" missing`, Object.keys(s), SESSION_KEYS.join(", "));
  eq(s.userId, userId, `${what}.userId`);
  if (typeof s.token !== "string" || s.token.length === 0) fail(`${what}.token`, s.token, "non-empty string");
  for (const k of ["expiresAt", "createdAt", "updatedAt"]) {
    if (!isDate(s[k])) fail(`${what}.${k} was not parsed as a date by the client`, s[k], "ISO-8601 timestamp (→ Date)");
  }
  if (!(s.expiresAt.getTime() > Date.now())) fail(`${what}.expiresAt not in the future`, s.expiresAt, "> now");
}

async function main() {
  const email = `compat-${randomUUID()}@example.test`;
  const password = "correct-horse-battery";
  const jar1 = new Map();
  const jar2 = new Map();
  const c1 = makeClient(jar1);
  const c2 = makeClient(jar2);
  const c3 = makeClient(null); // no jar: bearer only

  const signUp = await step("signUp.email (client 1)", async () => {
    const d = ok(await c1.signUp.email({ email, password, name: "Compat Flow" }), "signUp.email");
    if (!d?.user?.id) fail("user.id missing", d, "{token, user:{id,…}}");
    if (typeof d.token !== "string" || !d.token) fail("token missing", d, "{token: string, …}");
    eq(d.user.email, email, "user.email");
    if (!jar1.size) fail("no cookie was set", [...jar1.keys()], "a session cookie in Set-Cookie");
    return d;
  });
  const userId = signUp.user.id;

  const signIn2 = await step("signIn.email (client 2, second session)", async () => {
    const d = ok(await c2.signIn.email({ email, password }), "signIn.email");
    if (typeof d?.token !== "string" || !d.token) fail("token missing", d, "{redirect, token, user}");
    if (d.token === signUp.token) fail("second sign-in reused the first token", d.token, "a new token");
    eq(d.user?.id, userId, "user.id");
    eq(d.redirect, false, "redirect");
    return d;
  });

  await step("getSession (client 1)", async () => {
    const d = ok(await c1.getSession(), "getSession");
    if (!d?.session) fail("no session", d, "{session, user}");
    checkSessionObject(d.session, userId, "session");
    eq(d.session.token, signUp.token, "session.token (== sign-up token)");
    eq(d.user?.id, userId, "user.id");
    eq(d.user?.email, email, "user.email");
  });

  await step("listSessions (client 1) → 2 sessions", async () => {
    const d = ok(await c1.listSessions(), "listSessions");
    if (!Array.isArray(d)) fail("not an array", d, "a bare JSON array");
    eq(d.length, 2, "number of sessions");
    d.forEach((s, i) => checkSessionObject(s, userId, `sessions[${i}]`));
    // Better Auth lists every session's raw token. sessionkeeper's owned mode stores only
    // token hashes, so it shows the caller's own raw token and an opaque handle for the
    // others (which revokeSession accepts: see the revokeSession step). Both are accepted
    // here; the caller's own token must be exact either way.
    const tokens = d.map((s) => s.token);
    if (!tokens.includes(signUp.token)) fail("own session's token not listed", tokens, signUp.token);
    const other = tokens.find((t) => t !== signUp.token);
    if (typeof other !== "string" || !other) fail("other session's token missing", tokens, "a string");
    if (other !== signIn2.token && !other.startsWith("ref_")) {
      fail("other session's token", other, `${signIn2.token} or an opaque ref_ handle`);
    }
  });

  await step("revokeOtherSessions (client 1)", async () => {
    const d = ok(await c1.revokeOtherSessions(), "revokeOtherSessions");
    eq(d?.status, true, "status");
  });

  await step("listSessions (client 1) → 1 session", async () => {
    const d = ok(await c1.listSessions(), "listSessions");
    if (!Array.isArray(d)) fail("not an array", d, "a bare JSON array");
    eq(d.length, 1, "number of sessions");
    eq(d[0].token, signUp.token, "remaining session token");
  });

  await step("getSession (client 2) → null after revokeOtherSessions", async () => {
    const d = ok(await c2.getSession(), "getSession");
    eq(d, null, "session");
  });

  let bearerToken;
  let bearerRaw;
  await step("signIn.email without cookie jar → set-auth-token header", async () => {
    let header = null;
    const d = ok(
      await c3.signIn.email(
        { email, password },
        {
          onSuccess(ctx) {
            header = ctx.response.headers.get("set-auth-token");
          },
        },
      ),
      "signIn.email",
    );
    if (typeof d?.token !== "string" || !d.token) fail("token missing", d, "{redirect, token, user}");
    if (!header) fail("set-auth-token header missing", header, "<token>.<signature>");
    const dot = header.lastIndexOf(".");
    eq(header.slice(0, dot), d.token, "set-auth-token value before the last '.' (== body token)");
    const sig = header.slice(dot + 1);
    if (sig.length !== 44 || !sig.endsWith("=")) fail("set-auth-token signature shape", sig, "44-char standard base64 ending in '='");
    bearerToken = header;
    bearerRaw = d.token;
  });

  const bearer = () => ({ fetchOptions: { headers: { Authorization: `Bearer ${bearerToken}` } } });

  await step("getSession with Authorization: Bearer", async () => {
    const d = ok(await c3.getSession(bearer()), "getSession (bearer)");
    if (!d?.session) fail("no session", d, "{session, user}");
    checkSessionObject(d.session, userId, "session");
    eq(d.session.token, bearerRaw, "session.token");
    eq(d.user?.email, email, "user.email");
  });

  await step("revokeSession(bearer session token from listSessions)", async () => {
    const list = ok(await c1.listSessions(), "listSessions");
    if (!Array.isArray(list)) fail("not an array", list, "a bare JSON array");
    eq(list.length, 2, "number of sessions before revokeSession");
    // The other listed session is the bearer one; its token may be an opaque handle
    // (sessionkeeper owned mode) rather than the raw token (Better Auth).
    const target = list.find((s) => s.token !== signUp.token);
    if (!target) fail("bearer session not listed", list.map((s) => s.token), "a second entry");
    if (target.token !== bearerRaw && !target.token.startsWith("ref_")) {
      fail("bearer session's token", target.token, `${bearerRaw} or an opaque ref_ handle`);
    }
    const d = ok(await c1.revokeSession({ token: target.token }), "revokeSession");
    eq(d?.status, true, "status");
  });

  await step("getSession with Bearer → null after revokeSession", async () => {
    const d = ok(await c3.getSession(bearer()), "getSession (bearer)");
    eq(d, null, "session");
  });

  await step("listSessions (client 1) → 1 session after revokeSession", async () => {
    const d = ok(await c1.listSessions(), "listSessions");
    eq(Array.isArray(d) ? d.length : d, 1, "number of sessions");
    eq(d[0].token, signUp.token, "remaining session token");
  });

  const jarBeforeSignOut = new Map(jar1);
  await step("signOut (client 1)", async () => {
    const d = ok(await c1.signOut(), "signOut");
    eq(d?.success, true, "success");
  });

  await step("getSession (client 1) → null after signOut", async () => {
    const d = ok(await c1.getSession(), "getSession");
    eq(d, null, "session");
  });

  await step("getSession with the old cookie replayed → null", async () => {
    // The jar dropped the cookie on sign-out; replaying it must still fail, i.e.
    // the server really deleted the session rather than just clearing the cookie.
    if (jarBeforeSignOut.size === 0) fail("client 1 had no cookies before sign-out", [], "a session cookie");
    if (jar1.size !== 0) fail("sign-out did not clear client 1's cookies", [...jar1.keys()], "no cookies left");
    const replay = makeClient(jarBeforeSignOut);
    const d = ok(await replay.getSession(), "getSession (replayed cookie)");
    eq(d, null, "session");
  });
}

try {
  await main();
  process.stdout.write(JSON.stringify({ ok: true, steps }) + "\n");
  process.exit(0);
} catch (e) {
  if (e instanceof FlowError) console.error(e.message);
  else console.error(`client-flow: step ${steps + 1} "${currentStep}" threw: ${e?.stack ?? e}`);
  process.exit(1);
}
