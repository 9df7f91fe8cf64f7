# Sourced by scripts/test and bench/run (which define `have` and `apt_install`): a PgBouncer of
# our own in transaction mode, on a free port with its own config in a temporary directory, in
# front of a PostgreSQL server. `start_pgbouncer URL` sets POOLER_URL and stops it at exit.
# Only `extra_float_digits` is ignored at start-up, as a user would configure it for sqlx.
POOLER_DIR=""
stop_pgbouncer() {
  if [ -n "$POOLER_DIR" ] && [ -f "$POOLER_DIR/pgbouncer.pid" ]; then
    kill "$(cat "$POOLER_DIR/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [ -n "$POOLER_DIR" ]; then rm -rf "$POOLER_DIR"; fi
  return 0
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pooler_config() { # listen port, then host, port, user, password of the server behind it
  printf '[databases]\n* = host=%s port=%s user=%s%s\n' "$2" "$3" "$4" "${5:+ password=$5}"
  printf '[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %s\nunix_socket_dir =\n' "$1"
  printf 'auth_type = any\npool_mode = transaction\n'
  printf 'ignore_startup_parameters = extra_float_digits\n'
  printf 'max_client_conn = 1000\ndefault_pool_size = 10\nserver_idle_timeout = 10\n'
  printf 'logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n' "$POOLER_DIR" "$POOLER_DIR"
}
start_pgbouncer() { # the URL of the PostgreSQL server behind it
  local pg_url="$1"
  if ! have pgbouncer && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "installing PgBouncer (Debian's pgbouncer)" >&2
    apt_install pgbouncer
  fi
  local bin
  bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
  # postgres://user[:password]@host[:port]/db of the server behind it.
  local re='^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/]+)(:([0-9]+))?/'
  local user=postgres password="" host=127.0.0.1 port=5432
  if [[ "$pg_url" =~ $re ]]; then
    user="${BASH_REMATCH[2]}"; password="${BASH_REMATCH[4]}"
    host="${BASH_REMATCH[5]}"; port="${BASH_REMATCH[7]:-5432}"
  fi
  trap stop_pgbouncer EXIT
  # PgBouncer will not run as root: it drops to the postgres user, which must read its files.
  local run_as=() listen url
  if [ "$(id -u)" = 0 ]; then run_as=(-u postgres); fi
  for listen in $(seq 16432 16531); do
    if port_busy "$listen"; then continue; fi
    POOLER_DIR="$(mktemp -d)"
    pooler_config "$listen" "$host" "$port" "$user" "$password" >"$POOLER_DIR/pgbouncer.ini"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$POOLER_DIR"; fi
    url="postgres://$user@127.0.0.1:$listen/postgres"
    if "$bin" -d "${run_as[@]}" "$POOLER_DIR/pgbouncer.ini" >/dev/null 2>&1; then
      for _ in $(seq 1 50); do
        if psql "$url" -Atc 'select 1' >/dev/null 2>&1; then
          POOLER_URL="$url"
          return 0
        fi
        sleep 0.1
      done
    fi
    stop_pgbouncer
  done
  echo "could not start PgBouncer in front of $pg_url" >&2
  return 1
}

