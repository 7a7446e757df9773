#!/usr/bin/env bash
# Creates .venv from requirements.txt and, when run as root on Debian, installs the system
# packages the tests use: --with-browser (Chromium for browser tests, poppler for PDF checks,
# fonts), --with-spark (Java 17 for pyspark, when no Java 17+ is on the PATH), --with-reflink
# (xfsprogs: the clone test makes a small XFS file system, where files are cloned, not copied).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    echo "$want" > "$stamp"
fi

with_browser=0
with_spark=0
with_reflink=0
for arg in "$@"; do
    case "$arg" in
        --with-browser) with_browser=1 ;;
        --with-spark) with_spark=1 ;;
        --with-reflink) with_reflink=1 ;;
        *) echo "usage: scripts/setup.sh [--with-browser] [--with-spark] [--with-reflink]" >&2; exit 2 ;;
    esac
done

# the major version of the java on the PATH (0 when there is none)
java_major() {
    command -v java >/dev/null 2>&1 || { echo 0; return; }
    java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -1 |
        awk '{ print ($1 == 1 ? $2 : $1) }'
}

missing=()
if [ "$with_browser" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)   # the alert tests make a TLS certificate
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
    # a Chinese font, so the 中文 interface renders in the browser tests and screenshots
    fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
    # a colour emoji font: the pages' marks (🎯 goals, the ⚠️ 🔒 📣 🗺️ notice icons) are emoji, boxes without one
    fc-list 2>/dev/null | grep -qi "color emoji" || missing+=(fonts-noto-color-emoji)
fi
if [ "$with_spark" = 1 ]; then
    # pyspark (requirements.txt) runs on a JVM: Spark 4 needs Java 17 or newer
    [ "$(java_major)" -ge 17 ] 2>/dev/null || missing+=(openjdk-17-jre-headless)
fi
if [ "$with_reflink" = 1 ]; then
    command -v mkfs.xfs >/dev/null 2>&1 || missing+=(xfsprogs)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
