// A minimal, real Better Auth 1.7.25 server: the reference implementation that
// sessionkeeper is compared against.
//
// Environment:
//   PORT                         port to listen on (127.0.0.1); required; 0 = pick a
//                                free port (the chosen one is printed)
//   BETTER_AUTH_SECRET           cookie signing secret; required
//   BASE_URL                     public base URL (default http://127.0.0.1:$PORT)
//   DATABASE_URL                 postgres://... -> pg Pool (takes precedence)
//   SQLITE_PATH                  path of the better-sqlite3 file (default :memory:)
//   BETTER_AUTH_TRUSTED_ORIGINS  comma-separated extra trusted origins
//   BA_PLUGINS                   comma-separated extra plugins; "organization" supported
//   BA_SCHEMA                    "snake": plural snake_case tables and columns (users,
//                                sessions, accounts, verifications; user_id, expires_at, ...)
//                                through Better Auth's modelName/fields options, as a
//                                Drizzle or Prisma app would have them
//   BA_MIGRATE                   "verify": run no migration; exit 3 if Better Auth would
//                                create or add anything (the schema must already be complete)
//   BA_COOKIE_CACHE              "compact", "jwt" or "jwe": turn on session.cookieCache with
//                                that strategy (maxAge 300 s); unset = off, Better Auth's default
//   BA_RESET_PASSWORD            "1": password reset on (its e-mail is dropped), so that
//                                request-password-reset writes a verification row
//   BA_RATE_LIMIT                "memory" or "database": rate limiting on with that storage
//                                (Better Auth's defaults otherwise); unset = off
//   BA_SECONDARY                 "both" or "secondary": secondaryStorage through the official
//                                @better-auth/redis-storage on REDIS_URL (ioredis), with key
//                                prefix REDIS_PREFIX (default "better-auth:"); "both" also sets
//                                session.storeSessionInDatabase; unset = no secondary storage
//
// Creates its own schema with Better Auth's programmatic migrations (unless
// BA_MIGRATE=verify), runs Better Auth's schema validation (docs/better-auth-compat.md
// §1.5; exit 3 on a mismatch), then prints exactly one line `listening <port>` on stdout. Better Auth's own log lines go
// to stderr so stdout stays machine-readable. SIGTERM/SIGINT shut it down.
import http from "node:http";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
// getMigrations is exported from "better-auth/db/migration" in 1.7.25
// (not from "better-auth/db", which only re-exports schema/adapter helpers).
import { getMigrations } from "better-auth/db/migration";
import { admin } from "better-auth/plugins/admin";
import { bearer } from "better-auth/plugins/bearer";
import { organization } from "better-auth/plugins/organization";

const env = process.env;
const port = Number(env.PORT);
if (!env.PORT || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("ba-server: PORT must be set to a port number");
  process.exit(2);
}
if (!env.BETTER_AUTH_SECRET) {
  console.error("ba-server: BETTER_AUTH_SECRET must be set");
  process.exit(2);
}

let database;
let closeDatabase;
if (/^postgres(ql)?:/.test(env.DATABASE_URL ?? "")) {
  const { default: pg } = await import("pg");
  database = new pg.Pool({ connectionString: env.DATABASE_URL });
  closeDatabase = () => database.end();
} else {
  const { default: Database } = await import("better-sqlite3");
  database = new Database(env.SQLITE_PATH || ":memory:");
  closeDatabase = () => database.close();
}

// snake_case names for everything Better Auth and its admin/organization plugins create.
const snake = env.BA_SCHEMA === "snake";
if (env.BA_SCHEMA && !snake) {
  console.error(`ba-server: BA_SCHEMA must be "snake" or unset, not ${env.BA_SCHEMA}`);
  process.exit(2);
}
const toSnake = (name) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
const fieldsOf = (names) => Object.fromEntries(names.map((n) => [n, toSnake(n)]));
const model = (modelName, names) => (snake ? { modelName, fields: fieldsOf(names) } : {});
const dates = ["createdAt", "updatedAt"];
const coreSchema = {
  user: model("users", ["emailVerified", ...dates]),
  session: model("sessions", ["expiresAt", "ipAddress", "userAgent", "userId", ...dates]),
  account: model("accounts", [
    "accountId", "providerId", "userId", "accessToken", "refreshToken", "idToken",
    "accessTokenExpiresAt", "refreshTokenExpiresAt", ...dates,
  ]),
  verification: model("verifications", ["expiresAt", ...dates]),
};
const adminOptions = snake
  ? { schema: { user: { fields: fieldsOf(["banReason", "banExpires"]) }, session: { fields: fieldsOf(["impersonatedBy"]) } } }
  : {};
const organizationOptions = snake
  ? {
      schema: {
        session: { fields: fieldsOf(["activeOrganizationId"]) },
        organization: { modelName: "organizations", fields: fieldsOf(["createdAt"]) },
        member: { modelName: "members", fields: fieldsOf(["organizationId", "userId", "createdAt"]) },
        invitation: {
          modelName: "invitations",
          fields: fieldsOf(["organizationId", "expiresAt", "createdAt", "inviterId"]),
        },
      },
    }
  : {};

const cookieCacheStrategies = ["compact", "jwt", "jwe"];
if (env.BA_COOKIE_CACHE && !cookieCacheStrategies.includes(env.BA_COOKIE_CACHE)) {
  console.error(`ba-server: BA_COOKIE_CACHE must be compact, jwt, jwe or unset, not ${env.BA_COOKIE_CACHE}`);
  process.exit(2);
}
const cookieCache = env.BA_COOKIE_CACHE
  ? { cookieCache: { enabled: true, strategy: env.BA_COOKIE_CACHE, maxAge: 300 } }
  : {};

const extra = (env.BA_PLUGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const plugins = [admin(adminOptions), bearer()];
for (const name of extra) {
  if (name === "organization") plugins.push(organization(organizationOptions));
  else {
    console.error(`ba-server: unknown plugin in BA_PLUGINS: ${name}`);
    process.exit(2);
  }
}

function rateLimit(storage) {
  if (!storage) return { enabled: false };
  if (storage !== "memory" && storage !== "database") {
    console.error(`ba-server: BA_RATE_LIMIT must be memory, database or unset, not ${storage}`);
    process.exit(2);
  }
  return { enabled: true, storage };
}

let secondary = {};
let closeRedis = async () => {};
if (env.BA_SECONDARY) {
  if (env.BA_SECONDARY !== "both" && env.BA_SECONDARY !== "secondary") {
    console.error(`ba-server: BA_SECONDARY must be both, secondary or unset, not ${env.BA_SECONDARY}`);
    process.exit(2);
  }
  const { Redis } = await import("ioredis");
  const { redisStorage } = await import("@better-auth/redis-storage");
  const client = new Redis(env.REDIS_URL || "redis://127.0.0.1:6379");
  closeRedis = () => client.quit();
  secondary = {
    secondaryStorage: redisStorage({ client, keyPrefix: env.REDIS_PREFIX || "better-auth:" }),
  };
}
const storeInDatabase = env.BA_SECONDARY === "both" ? { storeSessionInDatabase: true } : {};

// Bind first so that PORT=0 works: the default baseURL needs the real port.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(port, "127.0.0.1", resolve);
});
const actualPort = server.address().port;

const options = {
  secret: env.BETTER_AUTH_SECRET,
  baseURL: env.BASE_URL || `http://127.0.0.1:${actualPort}`,
  database,
  ...coreSchema,
  emailAndPassword: {
    enabled: true,
    ...(env.BA_RESET_PASSWORD === "1" ? { sendResetPassword: async () => {} } : {}),
  },
  plugins,
  rateLimit: rateLimit(env.BA_RATE_LIMIT),
  user: { ...coreSchema.user, deleteUser: { enabled: true } },
  ...secondary,
  session: { ...coreSchema.session, freshAge: 0, ...cookieCache, ...storeInDatabase },
  // Better Auth also appends BETTER_AUTH_TRUSTED_ORIGINS on its own; listing the
  // values here too only duplicates entries, which is harmless.
  trustedOrigins: (env.BETTER_AUTH_TRUSTED_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  telemetry: { enabled: false },
  logger: {
    log: (level, message, ...args) => console.error(`[better-auth] ${level}: ${message}`, ...args),
  },
};

const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
if (env.BA_MIGRATE === "verify") {
  if (toBeCreated.length || toBeAdded.length) {
    const names = [
      ...toBeCreated.map((t) => `create table ${t.table}`),
      ...toBeAdded.map((t) => `add to ${t.table}: ${Object.keys(t.fields).join(", ")}`),
    ];
    console.error(`ba-server: the schema is incomplete: ${names.join("; ")}`);
    process.exit(3);
  }
} else {
  await runMigrations();
}

const auth = betterAuth(options);
// Better Auth validates its schema lazily on first use; do it now so that a mismatch
// (e.g. a NOT NULL column without default added by someone else) fails start-up visibly.
const context = await auth.$context;
try {
  await context.explicitSchemaCheck?.();
} catch (e) {
  console.error(`ba-server: Better Auth's schema check failed: ${e?.message ?? e}`);
  process.exit(3);
}
handler = toNodeHandler(auth);
process.stdout.write(`listening ${actualPort}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(async () => {
    try {
      await closeDatabase();
      await closeRedis();
    } finally {
      process.exit(0);
    }
  });
  server.closeAllConnections?.();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
