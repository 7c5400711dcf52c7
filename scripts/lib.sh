# Shared by scripts/run and scripts/test: a project venv, reinstalled when pyproject.toml changes.
# `ensure_venv` installs what serving needs; `ensure_venv test` adds the test extras. A venv made
# for the tests serves too, so scripts/run never installs the test tools on its own.
ensure_venv() {
    local want="${1:-serve}" python="${PYTHON:-}" marker
    if [ -z "$python" ]; then
        python=$(command -v python3.11 || command -v python3)
    fi
    if [ "$want" = serve ] && [ -f .venv/.installed ] && [ ! pyproject.toml -nt .venv/.installed ]; then
        return 0  # the test install (a superset) is current
    fi
    marker=".venv/.installed"
    [ "$want" = serve ] && marker=".venv/.installed-serve"
    if [ -f "$marker" ] && [ ! pyproject.toml -nt "$marker" ]; then
        return 0
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "$0: creating .venv (a Python virtual environment in this folder)" >&2
        "$python" -m venv .venv
    fi
    if [ "$want" = serve ]; then
        echo "$0: installing otpservice and what it needs to serve into .venv (first run, or pyproject.toml changed)" >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e .
    else
        echo "$0: installing otpservice with its test tools into .venv (first run, or pyproject.toml changed)" >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[test]"
    fi
    touch "$marker"
}

# The browser tests drive Debian's headless Chromium through chromedriver (selenium).
ensure_browser() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test: chromium and chromedriver are missing (apt-get install chromium chromium-driver);" \
             "the browser tests will be skipped" >&2
        return 0
    fi
    echo "scripts/test: installing chromium and chromium-driver for the browser tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}
