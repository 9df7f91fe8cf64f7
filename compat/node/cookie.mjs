// Signs and verifies session cookie values with the code Better Auth itself runs.
//
//   node cookie.mjs sign   <secret> <value>        -> cookie value (after `better-auth.session_token=`)
//   node cookie.mjs verify <secret> <cookieValue>  -> the verified value, or `false`
//
// Both use `better-call` (the version better-auth 1.7.25 pins: 1.4.5), through its
// public entry point `import ... from "better-call"`; no dist file is imported by
// path.
// * sign: `serializeSignedCookie(name, value, secret)` is what Better Auth's
//   `ctx.setSignedCookie` calls (better-call/dist/context.mjs). Internally it is
//   `signCookieValue` from better-call/dist/crypto.mjs (not exported):
//   encodeURIComponent(value + "." + base64(HMAC-SHA256(secret, value))).
//   We drop the `name=` prefix and print only the value.
// * verify: `createInternalContext(...).getSignedCookie(name, secret)` is the very
//   method Better Auth calls to read `better-auth.session_token`: it parses the
//   Cookie header (URL-decoding the value), splits at the last ".", requires a
//   44-char signature ending in "=", then checks the HMAC with WebCrypto.
//   It returns the value, `false` (bad signature) or `null` (missing/malformed:
//   no ".", wrong signature length). Better Auth treats both as "no session";
//   this CLI prints `false` for both. Exit code is 0 either way.
import { createInternalContext, serializeSignedCookie } from "better-call";

const NAME = "better-auth.session_token";
const [cmd, secret, value] = process.argv.slice(2);

if (!["sign", "verify"].includes(cmd) || secret === undefined || value === undefined) {
  console.error("usage: node cookie.mjs sign <secret> <value>\n       node cookie.mjs verify <secret> <cookieValue>");
  process.exit(2);
}

if (cmd === "sign") {
  const setCookie = await serializeSignedCookie(NAME, value, secret);
  // No options were passed, so there are no attributes: exactly `${NAME}=${signed}`.
  process.stdout.write(setCookie.slice(NAME.length + 1) + "\n");
} else {
  const ctx = await createInternalContext(
    { headers: new Headers({ cookie: `${NAME}=${value}` }) },
    { options: {}, path: "/" },
  );
  const verified = await ctx.getSignedCookie(NAME, secret);
  process.stdout.write((typeof verified === "string" ? verified : "false") + "\n");
}
