#!/usr/bin/env bash
# System packages some tests need: Debian's Chromium (HTML report in a real
# browser), a CJK font (names in screenshots), Java (the Spark test) and wrk
# (the HTTP benchmark). Installs what is missing when run as root on Debian;
# otherwise says what is missing: those tests then skip with a reason.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if command -v fc-list >/dev/null 2>&1; then
    fc-list 2>/dev/null | grep -ci "noto.*cjk" >/dev/null || missing+=(fonts-noto-cjk)
    fc-list 2>/dev/null | grep -ci "color emoji" >/dev/null || missing+=(fonts-noto-color-emoji)
else
    missing+=(fonts-noto-cjk fonts-noto-color-emoji)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "note: missing system packages (${missing[*]}); the tests that need them will skip." >&2
    echo "      on Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
fi
