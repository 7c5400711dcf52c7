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
