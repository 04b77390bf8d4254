#!/usr/bin/env bash
# Install (or upgrade) pulje-intake the way the README's operator section describes,
# up to, not including, starting the service. Run as root from the unpacked source:
#
#   bash deploy/install.sh
#
# Running it again upgrades: the code is reinstalled and the database migrated;
# settings, credentials and the database password are kept. The locations can
# be changed by environment variables (the test suite installs into a temporary
# folder and a throw-away database this way):
#   PULJE_PREFIX=/opt/pulje-intake       the virtual environment goes into $PULJE_PREFIX/.venv
#   PULJE_ETC=/etc/pulje-intake          settings.toml, credentials/ (root only)
#   PULJE_STATE=/var/lib/pulje-intake    the service user's home
#   PULJE_USER=pulje-intake              the service user (and its group)
#   PULJE_DB_NAME=pulje_intake PULJE_DB_ROLE=pulje_intake PULJE_DB_HOST=127.0.0.1
#   PULJE_PSQL_ADMIN="runuser -u postgres -- psql"   how to reach PostgreSQL as its superuser
#   PULJE_UNIT_DIR=/etc/systemd/system   PULJE_BIN_DIR=/usr/local/bin
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PULJE_PREFIX:-/opt/pulje-intake}
etc=${PULJE_ETC:-/etc/pulje-intake}
state=${PULJE_STATE:-/var/lib/pulje-intake}
user=${PULJE_USER:-pulje-intake}
db_name=${PULJE_DB_NAME:-pulje_intake}
db_role=${PULJE_DB_ROLE:-pulje_intake}
db_host=${PULJE_DB_HOST:-127.0.0.1}
psql_admin=${PULJE_PSQL_ADMIN:-runuser -u postgres -- psql}
unit_dir=${PULJE_UNIT_DIR:-/etc/systemd/system}
bin_dir=${PULJE_BIN_DIR:-/usr/local/bin}
creds=$etc/credentials

step() { echo "== $*"; }

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

step "Debian packages"
missing=()
for pkg in python3-venv postgresql-client openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "service user $user"
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin "$user"
fi
install -d -m 0750 -o "$user" -g "$user" "$state"

step "virtual environment $prefix/.venv"
install -d -m 0755 "$prefix"
# from a Python whose email package cannot put a line break into a header (CVE-2024-6923):
# Debian's own /usr/bin/python3 has the fix backported (scripts/venv.sh checks by behaviour)
source "$src/scripts/venv.sh"
if ! { [ -x "$prefix/.venv/bin/python" ] && python_ok "$prefix/.venv/bin/python"; }; then
  if ! py=$(pick_python); then
    echo "error: no Python here has the email fix for CVE-2024-6923; install Debian's python3" >&2
    exit 1
  fi
  "$py" -m venv --clear "$prefix/.venv"
fi
"$prefix/.venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$prefix/.venv/bin/pip" install --quiet --disable-pip-version-check --upgrade "$src"

step "settings and credentials in $etc"
install -d -m 0755 "$etc"
install -d -m 0700 "$creds"   # root only; systemd hands the files to the service (LoadCredential=)
if [ ! -s "$creds/db-password" ]; then
  (umask 077; openssl rand -hex 24 > "$creds/db-password")
fi
if [ ! -s "$creds/web-secret" ]; then  # signs the staff web page's sessions
  (umask 077; openssl rand -base64 48 > "$creds/web-secret")
fi
chmod 0600 "$creds"/*
if [ ! -e "$etc/settings.toml" ]; then
  sed -e "s|^url = \"postgresql+psycopg://pulje_intake@127.0.0.1/pulje_intake\"|url = \"postgresql+psycopg://$db_role@$db_host/$db_name\"|" \
    "$src/deploy/settings.toml" > "$etc/settings.toml"
  chown "root:$user" "$etc/settings.toml"
  chmod 0640 "$etc/settings.toml"
fi

step "PostgreSQL role $db_role and database $db_name"
# the password goes in as a psql variable, quoted by psql (:'pw'), never on a command line of its own
$psql_admin -X -q -v ON_ERROR_STOP=1 -v role="$db_role" -v db="$db_name" -v pw="$(cat "$creds/db-password")" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL

step "the operator's command $bin_dir/pulje-intake"
install -d -m 0755 "$bin_dir"
cat > "$bin_dir/pulje-intake" <<EOF
#!/bin/sh
# pulje-intake with the service's settings and credentials (run it as root: the credentials are root's)
export PULJE_INTAKE_CONFIG="\${PULJE_INTAKE_CONFIG:-$etc/settings.toml}"
export CREDENTIALS_DIRECTORY="\${CREDENTIALS_DIRECTORY:-$creds}"
exec "$prefix/.venv/bin/pulje-intake" "\$@"
EOF
chmod 0755 "$bin_dir/pulje-intake"

step "database schema"
"$bin_dir/pulje-intake" db upgrade

step "systemd units in $unit_dir"
install -d -m 0755 "$unit_dir"
sed -e "s|/opt/pulje-intake|$prefix|g" -e "s|/etc/pulje-intake|$etc|g" -e "s|/var/lib/pulje-intake|$state|g" \
    -e "s|^User=pulje-intake|User=$user|" -e "s|^Group=pulje-intake|Group=$user|" \
    "$src/deploy/pulje-intake.service" > "$unit_dir/pulje-intake.service"
sed -e "s|/opt/pulje-intake|$prefix|g" -e "s|/etc/pulje-intake|$etc|g" -e "s|/var/lib/pulje-intake|$state|g" \
    -e "s|^User=pulje-intake|User=$user|" -e "s|^Group=pulje-intake|Group=$user|" \
    "$src/deploy/pulje-intake-web.service" > "$unit_dir/pulje-intake-web.service"
if [ -d /run/systemd/system ] && [ "$unit_dir" = /etc/systemd/system ]; then
  systemctl daemon-reload
fi

cat <<EOF
== done. Next (README, "Operating it"):
   - the Entra app's client secret:  install -m 0600 /dev/stdin $creds/entra-client-secret
   - tenant_id, client_id and staff in $etc/settings.toml
   - pulje-intake check
   - systemctl enable --now pulje-intake;  pulje-intake status;  journalctl -u pulje-intake -f
   - the staff web page: pulje-intake users add NAME;  systemctl enable --now pulje-intake-web
EOF
