#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 (3.13 preferred), or fails saying so.
for candidate in python3.13 python3.12 \
    "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3 \
    /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do
  if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "Secretariat needs Python 3.12 or newer (Django 6 refuses 3.11): install python3.13 or python3.12 (pyenv works)." >&2
exit 1
