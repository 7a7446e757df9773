#!/usr/bin/env bash
# Installs everything the tests need (Python packages; Chromium, poppler, Java 17 and xfsprogs from
# Debian when root) and runs the whole suite. Fails if any test fails or is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser --with-spark --with-reflink
report=$(mktemp --suffix=.xml)
set +e
.venv/bin/python -m pytest tests -q -p no:cacheprovider --junitxml="$report" "$@"
status=$?
set -e
skipped=$(.venv/bin/python -c "
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == 'testsuite' else list(root)
print(sum(int(s.get('skipped', 0)) for s in suites))" "$report")
rm -f "$report"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$skipped" -ne 0 ]; then
    echo "FAILED: $skipped test(s) skipped; a skipped test is a missing feature or dependency." >&2
    exit 1
fi
