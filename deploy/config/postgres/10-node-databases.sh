#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
# one role and one database per national node, each reachable only by its own role.
# The passwords are the Docker secrets db_password_<cc> (see ../make-secrets).
set -eu
for cc in be nl de fr; do
    password=$(cat "/run/secrets/db_password_$cc")
    # psql variables (:"name" quotes an identifier, :'name' a literal) keep the password
    # out of the command line; the heredoc is read by psql, not by the shell.
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -v node="armsledger_$cc" -v password="$password" <<'SQL'
CREATE ROLE :"node" LOGIN PASSWORD :'password';
CREATE DATABASE :"node" OWNER :"node";
REVOKE ALL ON DATABASE :"node" FROM PUBLIC;
SQL
done
