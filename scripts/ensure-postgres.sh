#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with a database "test" that user
# "postgres" (password "postgres") can use: start the local cluster, or install one if missing.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing it from Debian's packages…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
if ! ready; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "Starting PostgreSQL $ver…"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
# A fresh install refuses password-less TCP logins: give "postgres" the password the tests use.
if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
fi
if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
fi
# `sarhad backup` / `restore` run pg_dump / pg_restore of the server's major version (or newer):
# Debian keeps each version's tools in /usr/lib/postgresql/<major>/bin.
major=$(PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SHOW server_version_num' | cut -c1-2)
major=${major#0}
if [ ! -x "/usr/lib/postgresql/$major/bin/pg_dump" ] || [ ! -x "/usr/lib/postgresql/$major/bin/pg_restore" ]; then
  echo "Installing the PostgreSQL $major client tools (pg_dump, pg_restore)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "postgresql-client-$major" >/dev/null
fi
echo "pg_dump for backups: $(/usr/lib/postgresql/$major/bin/pg_dump --version)"
echo "PostgreSQL ready on 127.0.0.1:5432"
