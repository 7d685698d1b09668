# Sourced by scripts/_env.sh and scripts/test.sh: virtualenvs built from the
# committed locks (requirements/*.lock), cached outside the clone and keyed on
# the lock's SHA-256 and the Python version.
#
#   dml_lock_venv NAME LOCK [--with-package]
#     prints the path of $CACHE/venv-NAME-<key>, building it first if needed:
#     `pip install --require-hashes --no-deps -r LOCK` (every version and hash
#     comes from the lock, nothing is resolved at install time), then, with
#     --with-package, this project itself (`pip install --no-deps`, not
#     editable: checkouts that share the venv import their own code through
#     PYTHONPATH and never re-point a shared install).
#
# Several checkouts may build or use the same venv at once: a build holds
# $CACHE/.venv-NAME.lock, and a venv is used only once its .complete exists.
# Needs ROOT, CACHE and PY (set by scripts/_env.sh).

dml_lock_key() {
  # dml_lock_key LOCK: 16 hex digits of sha256(lock file + python version).
  {
    cat "$1"
    "$PY" -c 'import sys; print("python", *sys.version_info[:2])'
  } | sha256sum | cut -c1-16
}

dml_install_package() {
  # dml_install_package PYTHON: `pip install --no-deps` of this project, built from a
  # clean copy of its sources (setuptools' in-tree build/ keeps modules deleted since).
  local src
  src="$(mktemp -d)"
  cp -r "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/client" "$src/"
  local status=0
  "$1" -m pip install --quiet --disable-pip-version-check --no-deps "$src" || status=$?
  rm -rf "$src"
  return "$status"
}

dml_lock_venv() {
  local name="$1" lock="$2" with_package="${3:-}"
  local venv
  venv="$CACHE/venv-$name-$(dml_lock_key "$lock")"
  if [ ! -f "$venv/.complete" ]; then
    # Every step is checked by hand: errexit does not apply inside a subshell on
    # the left of `||`, and a venv marked complete after a failed pip (a full
    # disk, a dropped download) would be reused by every checkout.
    (
      exec 9>"$CACHE/.venv-$name.lock"
      flock 9
      [ -f "$venv/.complete" ] && exit 0
      echo "Installing $(basename "$lock") into $venv (first run only)..." >&2
      started=$SECONDS
      rm -rf "$venv"
      fail() { echo "error: building $venv failed ($1); nothing was kept. Free disk space or check the network, then rerun." >&2; rm -rf "$venv"; exit 1; }
      "$PY" -m venv "$venv" || fail "python -m venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock" \
        || fail "pip install -r $(basename "$lock")"
      if [ "$with_package" = "--with-package" ]; then
        dml_install_package "$venv/bin/python" || fail "pip install of the package"
      fi
      "$venv/bin/python" -m pip check >&2 || fail "pip check"
      touch "$venv/.complete" || fail "marking it complete"
      echo "Built $venv in $((SECONDS - started)) s." >&2
    ) || return 1
  fi
  echo "$venv"
}
