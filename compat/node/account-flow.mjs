// Drives change-password, the admin plugin's set-user-password and delete-user with the REAL
// `better-auth/client` (and its adminClient plugin), against any Better Auth compatible server.
//
//   node account-flow.mjs <baseURL> <adminEmail> <adminPassword>
//
// The admin account must exist and hold the `admin` role. ADMIN_SET_PASSWORD_ENDS_SESSIONS=1
// expects set-user-password to end the user's sessions (sessionkeeper does; Better Auth 1.7.25
// keeps them). Exit 0 with {"ok":true,"steps":N}; exit 1 naming the failing step.
import { createAuthClient } from "better-auth/client";
import { adminClient } from "better-auth/client/plugins";
import { randomUUID } from "node:crypto";

const [baseURL, adminEmail, adminPassword] = process.argv.slice(2);
if (!baseURL || !adminEmail || !adminPassword) {
  console.error("usage: node account-flow.mjs <baseURL> <adminEmail> <adminPassword>");
  process.exit(2);
}
const adminEnds = process.env.ADMIN_SET_PASSWORD_ENDS_SESSIONS === "1";
const origin = new URL(baseURL).origin;
let steps = 0;
let currentStep = "(start)";

function fail(what, seen, expected) {
  throw new Error(
    `account-flow: step ${steps + 1} "${currentStep}" failed: ${what}\n  seen:     ${JSON.stringify(seen)}\n  expected: ${expected}`,
  );
}
async function step(name, fn) {
  currentStep = name;
  const out = await fn();
  steps += 1;
  return out;
}
function ok(res, what) {
  if (res.error) fail(`${what}: server returned an error`, res.error, "error == null");
  return res.data;
}
function refused(res, status, code, what) {
  if (!res.error) fail(`${what}: succeeded`, res.data, `${status} ${code}`);
  if (res.error.status !== status || res.error.code !== code) fail(what, res.error, `${status} ${code}`);
}
function eq(seen, expected, what) {
  if (seen !== expected) fail(what, seen, JSON.stringify(expected));
}

function makeFetch(jar) {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("origin", origin);
    if (jar.size > 0) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const at = pair.indexOf("=");
      if (at < 1) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.split("=").map((s) => s.trim());
        return k.toLowerCase() === "max-age" && Number(v) <= 0;
      });
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
}
const client = () =>
  createAuthClient({ baseURL, plugins: [adminClient()], fetchOptions: { customFetchImpl: makeFetch(new Map()) } });

async function session(c, what) {
  const res = await c.getSession();
  if (res.error) fail(`${what}: getSession error`, res.error, "data or null");
  return res.data;
}

const email = `acct-${randomUUID()}@example.com`;
const [p0, p1, p2, p3] = ["first-password-0", "second-password-1", "third-password-2", "fourth-password-3"];
const a = client();
const b = client();

try {
  const user = await step("signUp", async () => ok(await a.signUp.email({ name: "Acct", email, password: p0 }), "signUp").user);
  await step("signIn from a second client", async () => ok(await b.signIn.email({ email, password: p0 }), "signIn"));
  await step("changePassword without a session is 401", async () =>
    refused(await client().changePassword({ currentPassword: p0, newPassword: p1 }), 401, "UNAUTHORIZED", "anonymous"));
  await step("changePassword with a wrong current password", async () =>
    refused(await a.changePassword({ currentPassword: "not-the-password", newPassword: p1 }), 400, "INVALID_PASSWORD", "wrong current"));
  await step("changePassword to a too short password", async () =>
    refused(await a.changePassword({ currentPassword: p0, newPassword: "short" }), 400, "PASSWORD_TOO_SHORT", "too short"));
  await step("changePassword keeping the other sessions", async () => {
    const data = ok(await a.changePassword({ currentPassword: p0, newPassword: p1 }), "changePassword");
    eq(data.token, null, "token");
    eq(data.user.id, user.id, "user.id");
    eq(data.user.email, email, "user.email");
    if (!(await session(b, "second client"))) fail("second client signed out", null, "a session");
  });
  await step("changePassword ending the other sessions", async () => {
    const data = ok(await a.changePassword({ currentPassword: p1, newPassword: p2, revokeOtherSessions: true }), "changePassword");
    if (typeof data.token !== "string" || data.token.length < 20) fail("token", data.token, "a new session token");
    eq(data.user.id, user.id, "user.id");
    const mine = await session(a, "first client");
    if (!mine) fail("first client lost its session", mine, "the new session");
    eq(mine.session.token, data.token, "the new cookie's session");
    eq(await session(b, "second client"), null, "second client's session");
  });
  await step("the old password is refused, the new one signs in", async () => {
    refused(await client().signIn.email({ email, password: p1 }), 401, "INVALID_EMAIL_OR_PASSWORD", "old password");
    ok(await b.signIn.email({ email, password: p2 }), "signIn with the new password");
  });
  const admin = client();
  await step("admin signs in", async () => ok(await admin.signIn.email({ email: adminEmail, password: adminPassword }), "admin signIn"));
  await step("setUserPassword needs an admin", async () =>
    refused(await a.admin.setUserPassword({ userId: user.id, newPassword: p3 }), 403, "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD", "non-admin"));
  await step("setUserPassword", async () => {
    eq(ok(await admin.admin.setUserPassword({ userId: user.id, newPassword: p3 }), "setUserPassword").status, true, "status");
    const left = await session(b, "user's session after the reset");
    if (adminEnds) eq(left, null, "the user's session after an admin reset");
    else if (!left) fail("the session ended", left, "kept (Better Auth keeps sessions)");
    refused(await client().signIn.email({ email, password: p2 }), 401, "INVALID_EMAIL_OR_PASSWORD", "replaced password");
  });
  const c = client();
  await step("signIn with the admin-set password", async () => ok(await c.signIn.email({ email, password: p3 }), "signIn"));
  await step("deleteUser with a wrong password", async () =>
    refused(await c.deleteUser({ password: "not-the-password" }), 400, "INVALID_PASSWORD", "wrong password"));
  await step("deleteUser", async () => {
    const data = ok(await c.deleteUser({ password: p3 }), "deleteUser");
    eq(data.success, true, "success");
    eq(data.message, "User deleted", "message");
    eq(await session(c, "after deletion"), null, "session after deletion");
    refused(await client().signIn.email({ email, password: p3 }), 401, "INVALID_EMAIL_OR_PASSWORD", "deleted user");
  });
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
