#!/usr/bin/env bash
# make bench: wrk from Debian, PostgreSQL up, a bench database owned by the
# non-superuser application role, then each benchmark. Results: bench/results/*.json
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'servio_app') THEN
    CREATE ROLE servio_app LOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
SQL
# SERVIO_BENCH_DATABASE_URL (read by the benches) may name another database on this
# server, e.g. for a branch whose migrations differ from those servio_bench is at.
bench_db="${SERVIO_BENCH_DATABASE_URL:-/servio_bench}"
bench_db="${bench_db##*/}"
bench_db="${bench_db%%\?*}"
if ! psql -h 127.0.0.1 -U postgres -d postgres -qtA -c "SELECT 1 FROM pg_database WHERE datname = '$bench_db'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -q -c "CREATE DATABASE \"$bench_db\" OWNER servio_app"
fi

cd bench
# The slot and booking benches run on a large business; seeding it shows its progress
# (and keeps the rows of an earlier run of the last week).
../.venv/bin/python seed_large.py
for bench in http_baseline auth outbox slots bookings whatsapp dashboard; do
  ../.venv/bin/python "$bench.py"
done
