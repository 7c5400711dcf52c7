# Shared by scripts/run and scripts/test: a project venv, reinstalled when pyproject.toml changes.
ensure_venv() {
    local python="${PYTHON:-}"
    if [ -z "$python" ]; then
        python=$(command -v python3.11 || command -v python3)
    fi
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[test]"
        touch .venv/.installed
    fi
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
