#!/bin/sh
# Entry point of a node container (deploy/Dockerfile): prepare the node, then run it.
#
# 1. Secrets from files: ARMSLEDGER_PASSPHRASE_FILE -> ARMSLEDGER_PASSPHRASE;
#    ARMSLEDGER_DB_PASSWORD_FILE -> the password of the postgresql:// URL in ARMSLEDGER_DB.
# 2. `armsledger init --state $ARMSLEDGER_STATE` unless the home holds a node already.
# 3. With ARMSLEDGER_IDENTITIES (a directory shared by the nodes of one machine): write
#    our identity there (`armsledger key export`), wait for each state in
#    ARMSLEDGER_PARTNERS (comma-separated) to do the same, and `armsledger trust add` it.
#    Between real states, identities travel out of band instead (README.md).
# 4. exec `armsledger node run` (SIGTERM: finishes its batch, exit 0), or `armsledger "$@"`.
set -eu

: "${ARMSLEDGER_STATE:?set ARMSLEDGER_STATE to the node's ISO 3166-1 alpha-2 code}"

if [ -n "${ARMSLEDGER_PASSPHRASE_FILE:-}" ]; then
    ARMSLEDGER_PASSPHRASE=$(cat "$ARMSLEDGER_PASSPHRASE_FILE")
    export ARMSLEDGER_PASSPHRASE
fi
if [ -n "${ARMSLEDGER_DB_PASSWORD_FILE:-}" ]; then
    ARMSLEDGER_DB=$(python3 -c '
import sys, urllib.parse as u
url, password = u.urlsplit(sys.argv[1]), open(sys.argv[2]).read().strip()
user = u.quote(u.unquote(url.username or ""), safe="")
host = url.hostname + (f":{url.port}" if url.port else "")
print(u.urlunsplit(url._replace(netloc=f"{user}:{u.quote(password, safe=str())}@{host}")))
' "$ARMSLEDGER_DB" "$ARMSLEDGER_DB_PASSWORD_FILE")
    export ARMSLEDGER_DB
fi

if [ ! -f "$ARMSLEDGER_HOME/node.json" ]; then
    armsledger init --state "$ARMSLEDGER_STATE"
fi

if [ -n "${ARMSLEDGER_IDENTITIES:-}" ]; then
    armsledger key export > "$ARMSLEDGER_IDENTITIES/.$ARMSLEDGER_STATE.pub.tmp"
    mv "$ARMSLEDGER_IDENTITIES/.$ARMSLEDGER_STATE.pub.tmp" "$ARMSLEDGER_IDENTITIES/$ARMSLEDGER_STATE.pub"
    for partner in $(echo "${ARMSLEDGER_PARTNERS:-}" | tr ',' ' '); do
        waited=0
        until [ -f "$ARMSLEDGER_IDENTITIES/$partner.pub" ]; do
            if [ "$waited" -ge 300 ]; then
                echo "no identity of $partner in $ARMSLEDGER_IDENTITIES after 300 s" >&2
                exit 2
            fi
            sleep 1
            waited=$((waited + 1))
        done
        armsledger trust add --state "$partner" "$ARMSLEDGER_IDENTITIES/$partner.pub" > /dev/null
    done
fi

if [ "$#" -gt 0 ]; then
    exec armsledger "$@"
fi
exec armsledger node run
