#!/usr/bin/env bash
# Apply migrations in a CI/CD job and turn migrator's exit codes into
# messages that say what to do. Exits with migrator's own code.
#
#   DATABASE_URL=sqlite:///app.db examples/ci-migrate.sh
#
# Environment:
#   DATABASE_URL    required
#   MIGRATIONS_DIR  default ./migrations
#   WAIT_SECONDS    how long to wait for the database (a server, or the
#                   directory of a SQLite file) and for another migrator's
#                   lock (default 60)
#   MIGRATOR        the command to run (default "migrator"; split on spaces,
#                   e.g. "python3 -m migrator")
#   PYTHON          reads the JSON documents (default python3)
set -euo pipefail

if [[ -z "${DATABASE_URL:-}" ]]; then
    echo "ci-migrate: set DATABASE_URL, e.g. sqlite:///app.db" >&2
    exit 2
fi
MIGRATIONS_DIR="${MIGRATIONS_DIR:-migrations}"
WAIT_SECONDS="${WAIT_SECONDS:-60}"
PYTHON="${PYTHON:-python3}"
read -r -a MIGRATOR_CMD <<< "${MIGRATOR:-migrator}"
export DATABASE_URL MIGRATIONS_DIR

log() { printf 'ci-migrate: %s\n' "$*" >&2; }

# Named run_migrator, not migrator: a function called migrator would shadow
# the command it runs and call itself forever.
run_migrator() { "${MIGRATOR_CMD[@]}" --json --lock-timeout "$WAIT_SECONDS" "$@"; }

# field KEY...: print document["KEY"]... from the JSON on stdin ("" if absent
# or if stdin is not JSON, so that a crash cannot hide the exit code).
field() {
    "$PYTHON" -c '
import json, sys
try:
    value = json.load(sys.stdin)
except ValueError:
    value = {}
for key in sys.argv[1:]:
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else value)' "$@"
}

# steps KEY: one "version_name (N ms)" line per entry of document["KEY"].
steps() {
    "$PYTHON" -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    doc = {}
for s in doc.get(sys.argv[1], []):
    print("  %s_%s (%s ms)" % (s["version"], s["name"], s["duration_ms"]))' "$1"
}

# problems: one "file:line: severity: message" line per problem from `check`.
problems() {
    "$PYTHON" -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    doc = {}
for p in doc.get("problems", []):
    where = p["file"] + (":%s" % p["line"] if p.get("line") else "")
    print("  %s: %s: %s" % (where, p["severity"], p["message"]))'
}

# drift: one line per problem in a drift error document.
drift() {
    "$PYTHON" -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    doc = {}
for p in doc.get("error", {}).get("problems", []):
    print("  %s: %s" % (p.get("kind"), p.get("file") or p.get("version")))'
}

if [[ ! -d "$MIGRATIONS_DIR" ]]; then
    log "migrations directory '$MIGRATIONS_DIR' does not exist (set MIGRATIONS_DIR)"
    exit 2
fi

# 1. Validate every migration file; no database needed. Broken files will
#    not fix themselves, so this fails at once.
rc=0
out=$(run_migrator check) || rc=$?
if [[ $rc -ne 0 ]]; then
    log "invalid migration files; nothing was run:"
    problems <<< "$out" >&2
    exit "$rc"
fi

# 2. Wait for the database: a SQLite file's directory (a volume that is
#    mounted late), or a server until it accepts connections.
case "$DATABASE_URL" in
sqlite:* | sqlite3:*)
    path=${DATABASE_URL#*:}  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
    if [[ "$path" == //* ]]; then
        path=${path#//}
        path=${path#/}
    fi
    dir=$(dirname -- "$path")
    deadline=$((SECONDS + WAIT_SECONDS))
    until [[ -d "$dir" ]]; do
        if [[ $SECONDS -ge $deadline ]]; then
            log "directory '$dir' for the database did not appear within ${WAIT_SECONDS}s"
            exit 2
        fi
        log "waiting for directory '$dir'"
        sleep 1
    done
    ;;
*)
    rc=0
    out=$(run_migrator wait --timeout "$WAIT_SECONDS") || rc=$?
    if [[ $rc -ne 0 ]]; then
        log "database not reachable: $(field error message <<< "$out")"
        exit "$rc"
    fi
    ;;
esac

# 3. Apply. One JSON document on stdout whatever happens.
rc=0
out=$(run_migrator up) || rc=$?
case $rc in
0)
    applied=$(steps applied <<< "$out")
    if [[ -z "$applied" ]]; then
        log "ok: database is up to date; nothing to apply"
    else
        log "ok: applied $(wc -l <<< "$applied" | tr -d ' ') migration(s)"
    fi
    ;;
1)
    if [[ "$(field error kind <<< "$out")" == unfinished ]]; then
        log "an earlier run stopped part-way (MySQL); nothing was run:"
        field error message <<< "$out" >&2
        log "finish or undo that file by hand, then record it with" \
            "'migrator repair VERSION --applied' or '--rolled-back'"
        exit 1
    fi
    log "migration $(field error version <<< "$out")_$(field error name <<< "$out") failed" \
        "at $(field error file <<< "$out"):$(field error line <<< "$out")" \
        "(statement $(field error statement <<< "$out"))"
    log "database said: $(field error message <<< "$out")"
    version=$(field error version <<< "$out")
    if [[ "$(field error rolled_back <<< "$out")" == True ]]; then
        log "that file was rolled back"
    else
        log "that file stopped part-way: the statements before it stay (a no-transaction" \
            "file, or MySQL). Finish or undo them by hand; on MySQL then run" \
            "'migrator repair $version --applied' or '--rolled-back'"
    fi
    applied=$(steps applied <<< "$out")
    if [[ -z "$applied" ]]; then
        log "nothing else was applied in this run"
    else
        log "applied before it in this run, and still applied:"
        printf '%s\n' "$applied" >&2
    fi
    ;;
2)
    log "configuration error; nothing was run:"
    field error message <<< "$out" >&2
    ;;
3)
    log "drift: the database's history does not match the migration files; nothing was run:"
    drift <<< "$out" >&2
    log "restore the files from version control, or rename a late migration to a newer version"
    ;;
4)
    log "another migrator still holds the lock after ${WAIT_SECONDS}s; nothing was run:"
    field error message <<< "$out" >&2
    ;;
*)
    log "migrator exited $rc (interrupted?); check 'migrator status' before retrying"
    ;;
esac
exit "$rc"
