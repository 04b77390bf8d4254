# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: build .venv from a Python whose email package
# cannot write a header line break from an encoded word (CVE-2024-6923, scripts/email_probe.py).
# Debian's /usr/bin/python3 has the fix backported; the first python3 on PATH (pyenv, a
# hand-built one) may not. Checked by behaviour, not by version number. An existing .venv is
# kept only if its own Python passes; otherwise it is made again from one that does.
#
#   PULJE_PYTHON=/path/to/python3      try this one first
#   PULJE_PYTHON_CANDIDATES="a b"      the whole list to try (default: $PULJE_PYTHON /usr/bin/python3 python3)

probe="$(dirname "${BASH_SOURCE[0]}")/email_probe.py"

python_ok() {  # python_ok PYTHON: 0 if it runs and passes the probe
  "$1" "$probe" >/dev/null 2>&1
}

pick_python() {  # prints the first candidate that passes; explains each one that does not
  local py found
  for py in ${PULJE_PYTHON_CANDIDATES:-${PULJE_PYTHON:-} /usr/bin/python3 python3}; do
    found=$(command -v "$py" 2>/dev/null) || continue
    if python_ok "$found"; then
      echo "$found"
      return 0
    fi
    echo "not using $found ($("$found" -V 2>&1)): its email package writes a line break from an" \
         "encoded word into a header (CVE-2024-6923), or it is older than 3.11" >&2
  done
  return 1
}

make_venv() {  # make_venv [PIP-ARGS...]: a .venv with a safe Python, then pip install PIP-ARGS
  local py
  if [ -x .venv/bin/python ] && python_ok .venv/bin/python; then
    :
  else
    if ! py=$(pick_python); then
      echo "error: no Python 3.11+ here has the email fix for CVE-2024-6923 (3.11.10, 3.12.5, or" \
           "Debian's own /usr/bin/python3, which has it backported). Install Debian's python3 and" \
           "python3-venv, or point PULJE_PYTHON at a fixed interpreter." >&2
      exit 1
    fi
    if ! "$py" -c "import ensurepip" >/dev/null 2>&1; then  # Debian splits venv support out
      if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "installing python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      else
        echo "error: $py cannot make a virtual environment: install python3-venv (as root)" >&2
        exit 1
      fi
    fi
    [ -e .venv ] && echo ".venv was made by a Python without the email fix (or is broken): making it again from $py"
    "$py" -m venv --clear .venv
  fi
  if [ $# -gt 0 ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check "$@"
  fi
}
