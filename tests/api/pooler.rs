//! Behind a transaction-mode pooler (the PgBouncer `scripts/test` starts): a Better Auth schema
//! whose dates are `timestamp without time zone`, on a database whose `TimeZone` is
//! America/New_York, gives the same expiry decisions through the pooler as a direct
//! connection; and migrations need the direct URL.

use crate::helpers::*;
use crate::shared::{exec, fetch_strings, sql};
use sessionkeeper::app::{Application, StartError};
use sessionkeeper::domain::run::Trigger;
use sessionkeeper::domain::{CleanupPolicy, ManualClock, Scope};
use std::sync::Arc;
use time::OffsetDateTime;

/// Better Auth's core + admin schema with Prisma's and Drizzle's `timestamp` (no time zone)
/// for every date, in a database whose time zone is New York.
async fn zoneless_new_york_db(kind: Db) -> Option<TestDb> {
    let db = TestDb::new(kind).await?;
    let ddl = include_str!("../../migrations/postgres/auth/0001_better_auth_schema.sql");
    let (better_auth, _ours) = ddl
        .split_once("-- Nullable additions")
        .expect("owned additions marker");
    sql(&db, &better_auth.replace("timestamptz", "timestamp")).await;
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let admin = pg_admin_url().expect("a PostgreSQL test has TEST_DATABASE_URL");
    exec(
        &admin,
        &format!("ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'"),
    )
    .await;
    // (sqlx itself asks for UTC at connection start-up, and PgBouncer passes that on; a
    // pooler that does not leaves its server connections in New York time.)
    let zone = fetch_strings(
        db.setup_url(),
        "SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s \
         JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()",
    )
    .await;
    assert_eq!(zone[0][0].as_deref(), Some("TimeZone=America/New_York"));
    Some(db)
}

/// A user and, for `prefix` (letters: it starts the raw bearer tokens), one session that
/// expired two hours ago, one that expires in two hours, and one unused for 31 days: Better
/// Auth's UTC wall-clock times, as its Node app writes them into `timestamp` columns.
async fn seed(db: &TestDb, prefix: &str) {
    let utc = "(now() AT TIME ZONE 'UTC')";
    sql(
        db,
        &format!(
            "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role) \
             VALUES ('{prefix}u', 'tz', '{prefix}@example.com', false, {utc}, {utc}, 'user');
             INSERT INTO session (id, token, \"expiresAt\", \"createdAt\", \"updatedAt\", \"userId\") VALUES
             ('{prefix}expired', '{prefix}expiredtoken', {utc} - interval '2 hours', {utc} - interval '1 day', {utc} - interval '1 day', '{prefix}u'),
             ('{prefix}valid', '{prefix}validtoken', {utc} + interval '2 hours', {utc} - interval '1 day', {utc} - interval '1 day', '{prefix}u'),
             ('{prefix}idle', '{prefix}idletoken', {utc} + interval '2 days', {utc} - interval '40 days', {utc} - interval '31 days', '{prefix}u');"
        ),
    )
    .await;
}

fn shared() -> Settings {
    Settings::new()
        .set("SESSIONKEEPER_MODE", "shared")
        // Every session check here would otherwise slide the expiry it is asked about.
        .set("SESSION_UPDATE_AGE", "604800")
        // The idle sessions stay for the cleanup to count: no inactivity refusal at check time.
        .set("CLEAN_INACTIVE_SESSIONS", "false")
}

/// What the server says of each session of `prefix`: alive or not.
async fn decisions(app: &TestApp, prefix: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for kind in ["expired", "valid", "idle"] {
        let token = format!("{prefix}{kind}token");
        let res = app
            .send(
                app.http
                    .get(format!("{}/api/auth/get-session", app.url))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        out.push((kind.to_string(), res.body.is_object()));
    }
    out
}

const POLICY: CleanupPolicy = CleanupPolicy {
    clean_expired_tokens: true,
    clean_inactive_sessions: true,
    inactivity_days: 30,
    enforce_session_limits: false,
    max_sessions_per_user: 10,
    absolute_timeout_seconds: None,
    inactivity_seconds: None,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoneless_timestamps_in_new_york_decide_as_a_direct_utc_connection() {
    let Some(db) = zoneless_new_york_db(Db::Pooled).await else {
        return;
    };
    seed(&db, "pooled").await;
    seed(&db, "direct").await;
    let direct_url = db.setup_url().to_owned();
    let pooled = spawn_on(db, shared())
        .await
        .expect("starts through the pooler");
    let direct = spawn_on(TestDb::unowned(&direct_url), shared())
        .await
        .expect("starts directly");

    // The cleanup's dry run counts the same stale sessions (one expired, one idle per user).
    let count = |app: &TestApp| {
        let cleanup = app.cleanup.clone();
        async move {
            let run = cleanup
                .run_once(Trigger::Manual, POLICY, true, Scope::All)
                .await
                .unwrap();
            (run.counts.expired, run.counts.inactive)
        }
    };
    assert_eq!(count(&pooled).await, (2, 2));
    assert_eq!(count(&direct).await, (2, 2));

    let expected = vec![
        ("expired".to_string(), false),
        ("valid".to_string(), true),
        ("idle".to_string(), true),
    ];
    assert_eq!(decisions(&direct, "direct").await, expected);
    assert_eq!(decisions(&pooled, "pooled").await, expected);

    // What the pooled server writes is UTC wall-clock time too: a new session expires in
    // seven days as a UTC connection reads it.
    let up = pooled.sign_up("written@example.com").await;
    let token = up.body["token"].as_str().unwrap();
    let rows = fetch_strings(
        &direct_url,
        &format!(
            "SELECT CAST(EXTRACT(EPOCH FROM \"expiresAt\" - (now() AT TIME ZONE 'UTC')) AS TEXT) \
             FROM session WHERE token = '{token}'"
        ),
    )
    .await;
    let secs: f64 = rows[0][0].as_deref().unwrap().parse().unwrap();
    assert!(
        (secs - 7.0 * 86_400.0).abs() < 600.0,
        "expires in {secs} s as UTC reads it"
    );
    assert!(decisions(&direct, "direct").await[1].1);

    // The real cleanup through the pooler deletes exactly the stale ones.
    let run = pooled
        .cleanup
        .run_once(Trigger::Manual, POLICY, false, Scope::All)
        .await
        .unwrap();
    assert_eq!(
        (run.counts.expired, run.counts.inactive),
        (0, 2),
        "the expired ones went when they were presented; the idle ones now"
    );
    let left = fetch_strings(&direct_url, "SELECT id FROM session ORDER BY id").await;
    let left: Vec<_> = left.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&"directvalid".to_string()));
    assert!(left.contains(&"pooledvalid".to_string()));
}

/// Without `DATABASE_DIRECT_URL`, a pooled server refuses to start while migrations are
/// pending, naming the setting; once they ran (over the direct URL) it starts without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_need_the_direct_url() {
    let Some(db) = TestDb::new(Db::Pooled).await else {
        return;
    };
    let pooled_only = Settings::new().set("DATABASE_POOLER", "transaction");
    let config = test_config(&db.url, &pooled_only);
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    match Application::build_with_clock(config, clock).await {
        Err(StartError::Schema(message)) => assert!(
            message.contains("DATABASE_DIRECT_URL") && message.contains("not applied"),
            "{message}"
        ),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("started with pending migrations"),
    }
    let tables = fetch_strings(
        db.setup_url(),
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .await;
    assert!(tables.is_empty(), "nothing was created: {tables:?}");

    let url = db.url.clone();
    let first = spawn_on(db, Settings::new())
        .await
        .expect("migrates over DATABASE_DIRECT_URL");
    first.sign_up("migrated@example.com").await;
    let again = spawn_on(TestDb::unowned(&url), pooled_only)
        .await
        .expect("starts through the pooler alone once migrated");
    again.sign_in("migrated@example.com").await;
}

/// PgBouncer passes on the `TimeZone=UTC` that sqlx asks for at start-up, so through it the
/// sessions above are in UTC anyway. A pooler that drops start-up parameters leaves its server
/// connections in the database's time zone: stood in for here by a pass-through that removes
/// `TimeZone` and `options` from the start-up packet. Reading a zoneless date does not depend
/// on the time zone (it arrives as wall-clock time); comparing one with a bound instant in SQL
/// (the cleanup) and writing one (sign-up) do. Through the proxy the pooler mode still counts and
/// writes as a direct UTC connection (its transactions set the time zone), and the default mode,
/// which relies on the start-up parameters, does not: the proxy is what makes the difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_start_up_parameters_the_pooler_mode_still_decides_in_utc() {
    let Some(db) = zoneless_new_york_db(Db::Postgres).await else {
        return;
    };
    seed(&db, "pooled").await;
    let direct_url = db.url.clone();
    let mut through = url::Url::parse(&direct_url).unwrap();
    let upstream = format!(
        "{}:{}",
        through.host_str().unwrap(),
        through.port().unwrap_or(5432)
    );
    let proxy = start_up_parameter_dropper(upstream).await;
    through.set_port(Some(proxy.port())).unwrap();
    let pooled = spawn_on(
        TestDb::unowned(through.as_str()),
        shared()
            .set("DATABASE_POOLER", "transaction")
            .set("DATABASE_DIRECT_URL", &direct_url),
    )
    .await
    .expect("starts through the proxy");
    let plain = spawn_on(TestDb::unowned(through.as_str()), shared())
        .await
        .expect("starts through the proxy");

    let dry = |app: &TestApp| {
        let cleanup = app.cleanup.clone();
        async move {
            let run = cleanup
                .run_once(Trigger::Manual, POLICY, true, Scope::All)
                .await
                .unwrap();
            (run.counts.expired, run.counts.inactive)
        }
    };
    assert_eq!(dry(&pooled).await, (1, 1));
    // Compared in New York time, the session that expired two hours ago (UTC) has not yet.
    assert_eq!(
        dry(&plain).await,
        (0, 1),
        "the proxy did not change the connections' time zone: this test proves nothing"
    );
    assert_eq!(
        decisions(&pooled, "pooled").await,
        vec![
            ("expired".to_string(), false),
            ("valid".to_string(), true),
            ("idle".to_string(), true),
        ]
    );

    // A new session expires in seven days as a UTC connection reads it; the default mode
    // stores New York wall-clock time, four or five hours (daylight saving time) earlier.
    let expires_in = |token: String| {
        let url = direct_url.clone();
        async move {
            let rows = fetch_strings(
                &url,
                &format!(
                    "SELECT CAST(EXTRACT(EPOCH FROM \"expiresAt\" - (now() AT TIME ZONE 'UTC')) AS TEXT) \
                     FROM session WHERE token = '{token}'"
                ),
            )
            .await;
            rows[0][0].as_deref().unwrap().parse::<f64>().unwrap()
        }
    };
    let week = 7.0 * 86_400.0;
    let up = pooled.sign_up("through-proxy@example.com").await;
    let secs = expires_in(up.body["token"].as_str().unwrap().to_owned()).await;
    assert!(
        (secs - week).abs() < 600.0,
        "expires in {secs} s as UTC reads it"
    );
    let up = plain.sign_up("plain-proxy@example.com").await;
    let secs = expires_in(up.body["token"].as_str().unwrap().to_owned()).await;
    let behind = week - secs;
    assert!(
        [4.0, 5.0]
            .iter()
            .any(|h| (behind - h * 3600.0).abs() < 600.0),
        "the default mode through the proxy: expires in {secs} s as UTC reads it"
    );
    drop(db);
}

/// Relays PostgreSQL connections to `upstream`, minus `TimeZone` and `options` in each start-up
/// packet (after declining TLS).
async fn start_up_parameter_dropper(upstream: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = relay(&mut client, &upstream).await;
            });
        }
    });
    addr
}

async fn relay(client: &mut tokio::net::TcpStream, upstream: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    const SSL_REQUEST: u32 = 80_877_103;
    let mut packet = read_packet(client).await?;
    if packet.len() == 8 && packet[4..8] == SSL_REQUEST.to_be_bytes() {
        client.write_all(b"N").await?;
        packet = read_packet(client).await?;
    }
    let mut server = tokio::net::TcpStream::connect(upstream).await?;
    server.write_all(&without_zone(&packet)).await?;
    tokio::io::copy_bidirectional(client, &mut server).await?;
    Ok(())
}

/// One length-prefixed start-up packet, prefix included.
async fn read_packet(s: &mut tokio::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let len = s.read_u32().await?;
    let mut packet = len.to_be_bytes().to_vec();
    packet.resize(len.max(4) as usize, 0);
    s.read_exact(&mut packet[4..]).await?;
    Ok(packet)
}

/// The start-up packet (length, protocol version, `name\0value\0` pairs, `\0`) without the
/// `TimeZone` and `options` pairs.
fn without_zone(packet: &[u8]) -> Vec<u8> {
    let mut body = packet[4..8].to_vec();
    let fields: Vec<&[u8]> = packet[8..].split(|b| *b == 0).collect();
    for pair in fields.chunks(2) {
        let [name, value] = pair else { break };
        if name.is_empty() {
            break;
        }
        if *name != b"TimeZone" && *name != b"options" {
            for part in [name, value] {
                body.extend_from_slice(part);
                body.push(0);
            }
        }
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}
