#!/usr/bin/env bash
# The whole test suite: installs the browser the dashboard tests drive (ops/install-browser.sh),
# runs every test of the workspace, then checks the served OpenAPI document against the running
# server (ops/api-check.sh). PostgreSQL and RabbitMQ must be running (README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ops/install-browser.sh
cargo test --workspace "$@"
bash ops/api-check.sh
