#!/usr/bin/env bash
# Installs what the app needs (first time only) and starts it. With no warehouse yet, the app
# builds the demo warehouse on first start and shows its progress.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m streamlit run dashboard.py --browser.gatherUsageStats false "$@"
