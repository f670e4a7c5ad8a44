#!/usr/bin/env bash
# One-time set-up of a fresh machine; safe to re-run (each step is skipped when already done).
#   - Debian packages: chromium (browser tests), firefox-esr + pulseaudio (Firefox suite: the browser and a null audio
#     sink for it), python3-torchaudio (DSP oracle for the golden generator), fonts-wqy-microhei when no font covers
#     Chinese, Japanese and Korean (the demo screenshots show those texts; 5 MB, against 91 MB for fonts-noto-cjk)
#   - .venv: the pinned Python stack of tools/requirements.txt (reference model, export, fixtures)
#   - node_modules: npm ci
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)
command -v pulseaudio >/dev/null 2>&1 || need_apt+=(pulseaudio)
/usr/bin/python3 -c 'import torchaudio' >/dev/null 2>&1 || need_apt+=(python3-torchaudio)
for lang in zh ja ko; do
  if [ -z "$(fc-list ":lang=$lang" 2>/dev/null)" ]; then
    need_apt+=(fonts-wqy-microhei)
    break
  fi
done
if ((${#need_apt[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install the Debian packages: ${need_apt[*]}" >&2
    exit 1
  fi
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum tools/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: python venv (.venv) from tools/requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --retries 0 -r tools/requirements.txt
  echo "$want" >"$stamp"
fi

lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.lock.sha256 2>/dev/null)" != "$lock" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$lock" >node_modules/.lock.sha256
fi
echo "setup: done"
