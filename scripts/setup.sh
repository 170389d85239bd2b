#!/usr/bin/env bash
# Install everything tokenmeter needs on Debian/Ubuntu: system packages that are
# missing (tesseract-ocr and ssocr for the OCR benchmark, mosquitto, python3-venv),
# a .venv, the project with its test extras at the versions of constraints.txt.
# Safe to run again: it only does what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

die() { echo "setup: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found; install Python 3.11 or newer."
"$PYTHON" - <<'PY' || die "Python 3.11 or newer is required (found $("$PYTHON" -V 2>&1))."
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

# --- Debian packages -------------------------------------------------------
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
command -v ssocr >/dev/null 2>&1 || missing+=(ssocr)
{ command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; } || missing+=(mosquitto)
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    die "need root or sudo to install ${missing[*]}; install them yourself: apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} with your package manager."
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || die "apt-get update failed; check the network or install ${missing[*]} yourself."
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed."
  # Debian starts a system-wide mosquitto on 1883 when installed; tokenmeter starts its own.
fi

# --- virtual environment ---------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create $VENV (is python3-venv installed?)"
fi
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing tokenmeter and its test extras into $VENV (versions: constraints.txt)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null || die "pip upgrade failed"
  "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test]" \
    || die "pip install failed; see the messages above."
  touch "$stamp"
fi
echo "setup: ready ($("$VENV/bin/python" -V), $(tesseract --version 2>&1 | head -n1))"
