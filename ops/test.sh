#!/usr/bin/env bash
# The whole test suite: installs the browser the dashboard tests drive (ops/install-browser.sh),
# then runs every test of the workspace. PostgreSQL and RabbitMQ must be running (README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ops/install-browser.sh
cargo test --workspace "$@"
