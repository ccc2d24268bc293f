#!/usr/bin/env bash
# Developer entry point for Trygghetskartan.
#
#   ./dev.sh run               serve the app on the embedded store with the demo data
#   ./dev.sh test [ARGS...]    ruff + the whole pytest suite (ARGS go to pytest)
#   ./dev.sh bench NAME [ARGS] run bench/NAME.py
#   ./dev.sh fuzz [N]          the fuzz suite (tests/fuzz) with N examples in all (10 000)
#
# Each first makes sure the dependencies are there: the virtualenv in .venv (created
# with python3 >= 3.11; `pip install -e '.[test]'` again whenever pyproject.toml has
# changed), and, when run as root, the Debian packages that are missing.
# Environment: HOST, PORT, WORKERS (run: server processes, default one per core);
# TRYGGHETSKARTAN_DATA_DIR (where the store lives,
# default the Flask instance folder instance/); PYTHON (the interpreter for a new .venv).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

VENV=.venv
STAMP="$VENV/.pyproject.sha256"
# Packages for the app itself (brief PDFs, GDAL tools) and, in addition, for the tests
# (Chromium for browser tests, PostgreSQL + PostGIS for the postgis tests).
APT_RUN=(gdal-bin poppler-utils fonts-dejavu-core)
# The PostGIS extension itself is postgresql-NN-postgis-3 for the installed server
# (Debian's `postgis` package holds only the command-line tools); see postgis_package.
APT_TEST=(chromium chromium-driver postgresql)

say() { printf '==> %s\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
}

# Install the Debian packages in "$@" that are not installed yet (as root only).
ensure_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "not a Debian system; please install the equivalent of: ${missing[*]}"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages (tests needing them will skip): ${missing[*]}"
        say "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
        return 0
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Print the first python3 >= 3.11 found.
find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python=$(find_python) || die "python3 >= 3.11 not found (set PYTHON=/path/to/python3)"
        say "creating $VENV with $python"
        "$python" -m venv "$VENV"
        rm -f "$STAMP"
    fi
    local want have=""
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    [ -f "$STAMP" ] && have=$(cat "$STAMP")
    if [ "$want" != "$have" ]; then
        say "installing Python dependencies (pip install -e '.[test]')"
        # pip's exit status survives the filter thanks to pipefail.
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 \
            | { grep -v 'is ignored' || true; }
        printf '%s\n' "$want" >"$STAMP"
    fi
}

cmd_run() {
    ensure_apt "${APT_RUN[@]}"
    ensure_venv
    # `demo` is idempotent: it creates the store and loads the demo data only once.
    say "loading demo data (trygghetskartan demo)"
    "$VENV/bin/trygghetskartan" demo
    say "serving on http://${HOST:-127.0.0.1}:${PORT:-5000}/"
    # as in production: `serve` starts one waitress process per core (mapapp/serving.py)
    exec "$VENV/bin/trygghetskartan" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}" \
        ${WORKERS:+--workers "$WORKERS"}
}

# Print the Debian package of the PostGIS extension for the newest installed
# PostgreSQL server (postgresql-15-postgis-3 on Debian 12), or the metapackage that
# follows Debian's default server when none is installed yet.
postgis_package() {
    local version
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$version" ]; then
        printf 'postgresql-%s-postgis-3\n' "$version"
    else
        printf 'postgresql-postgis\n'
    fi
}

cmd_test() {
    ensure_apt "${APT_RUN[@]}" "${APT_TEST[@]}"
    # After the server is installed, so that the extension matches its version.
    ensure_apt "$(postgis_package)"
    ensure_venv
    local ruff_rc=0 pytest_rc=0
    say "ruff check ."
    "$VENV/bin/ruff" check . || ruff_rc=$?
    # The postgis fixture starts its own throwaway PostgreSQL cluster (tests/pg_cluster.py).
    # Test files are spread over one worker per core (pytest-xdist; a file stays on one
    # worker, so its module fixtures are built once). TEST_WORKERS=0 runs in-process.
    local workers="${TEST_WORKERS:-auto}"
    say "pytest -n $workers --dist loadfile $*"
    "$VENV/bin/python" -m pytest -ra -n "$workers" --dist loadfile "$@" || pytest_rc=$?
    if [ "$pytest_rc" -eq 5 ]; then
        say "pytest collected no tests: that is a failure here"
    fi
    if [ "$ruff_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ]; then
        say "FAILED (ruff exit $ruff_rc, pytest exit $pytest_rc)"
        exit 1
    fi
    say "all checks passed"
}

cmd_bench() {
    [ $# -ge 1 ] || die "usage: ./dev.sh bench NAME [ARGS...]"
    local name=$1
    shift
    [ -f "bench/$name.py" ] || die "no benchmark bench/$name.py"
    ensure_venv
    exec "$VENV/bin/python" "bench/$name.py" "$@"
}

# The long fuzz run: N examples (default 10 000) shared among the fuzz tests, a new
# random seed each run; CI runs the same tests with a small fixed profile.
cmd_fuzz() {
    local total=${1:-10000}
    [[ "$total" =~ ^[0-9]+$ ]] || die "usage: ./dev.sh fuzz [N]"
    ensure_venv
    say "fuzz: $total examples over tests/fuzz"
    local start=$SECONDS
    TRYGGHETSKARTAN_FUZZ_EXAMPLES=$total "$VENV/bin/python" -m pytest tests/fuzz -q -s \
        -p no:cacheprovider
    say "fuzz: done in $((SECONDS - start)) s"
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
        run) cmd_run "$@" ;;
        test) cmd_test "$@" ;;
        bench) cmd_bench "$@" ;;
        fuzz) cmd_fuzz "$@" ;;
        -h | --help | help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
