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
//
// Creates its own schema with Better Auth's programmatic migrations, then prints
// exactly one line `listening <port>` on stdout. Better Auth's own log lines go
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

const extra = (env.BA_PLUGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const plugins = [admin(), bearer()];
for (const name of extra) {
  if (name === "organization") plugins.push(organization());
  else {
    console.error(`ba-server: unknown plugin in BA_PLUGINS: ${name}`);
    process.exit(2);
  }
}

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
  emailAndPassword: { enabled: true },
  plugins,
  rateLimit: { enabled: false },
  session: { freshAge: 0 },
  // Better Auth also appends BETTER_AUTH_TRUSTED_ORIGINS on its own; listing the
  // values here too only duplicates entries, which is harmless.
  trustedOrigins: (env.BETTER_AUTH_TRUSTED_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  telemetry: { enabled: false },
  logger: {
    log: (level, message, ...args) => console.error(`[better-auth] ${level}: ${message}`, ...args),
  },
};

const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
handler = toNodeHandler(auth);
process.stdout.write(`listening ${actualPort}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(async () => {
    try {
      await closeDatabase();
    } finally {
      process.exit(0);
    }
  });
  server.closeAllConnections?.();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
