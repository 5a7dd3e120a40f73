#!/usr/bin/env bash
# Checks that the served OpenAPI document is true (security review M6): it validates as OpenAPI
# 3.1, every command example validates against its body schema, and schemathesis, generating
# requests from the document against `roster serve --demo`, finds no 5xx, no dropped connection
# and no response the document does not describe (status code, content type, schema). Run once
# with a ministry token and once without a token. Called by ops/test.sh after the Rust tests.
#
# Installs openapi-spec-validator and schemathesis (pinned) into a virtualenv under the cargo
# target directory, once. Needs python3.11 (or python3 >= 3.10) with venv, and PyPI.
# API_CHECK_EXAMPLES: test cases per operation and phase (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
EXAMPLES="${API_CHECK_EXAMPLES:-10}"

target="${CARGO_TARGET_DIR:-target}"
work="$target/api-check"
venv="$work/venv"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
venv="$work/venv"

fail() {
    echo "api-check: FAILED: $*" >&2
    exit 1
}

python=""
for p in python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        python="$p"
        break
    fi
done
[ -n "$python" ] || fail "python 3.10 or later with the venv module is needed (apt-get install python3-venv)"

stamp="$venv/.installed-schemathesis-$SCHEMATHESIS_VERSION-validator-$VALIDATOR_VERSION"
if [ ! -f "$stamp" ]; then
    echo "api-check: installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $VALIDATOR_VERSION into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv" || fail "could not create a virtualenv with $python"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION" ||
        fail "pip could not install schemathesis and openapi-spec-validator"
    touch "$stamp"
fi

# The binary `cargo test --workspace` built (same features, so nothing is rebuilt after it).
cargo build --workspace --bins --quiet || fail "cargo build"
roster="$target/debug/roster"
[ -x "$roster" ] || fail "no $roster after cargo build"

data="$work/data"
rm -rf "$data"
mkdir -p "$data"
log="$work/serve.log"
# Rate limits off: schemathesis is to reach the handlers (the limits have their own tests in
# tests/tests/suite/hardening.rs; their 429 is in the document for every operation).
"$roster" --data "$data/roster.sqlite" serve --demo --listen 127.0.0.1:0 \
    --rate-per-address 0 --rate-per-token 0 --failed-auth-per-minute 0 \
    --public-rate-per-address 0 --objections-per-hour 0 >"$log" 2>&1 &
server=$!
stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap stop EXIT

base=""
for _ in $(seq 1 240); do
    base="$(sed -n 's|^Serving on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$log" | head -n 1)"
    [ -n "$base" ] && break
    kill -0 "$server" 2>/dev/null || fail "the server exited: $(tail -n 20 "$log")"
    sleep 0.5
done
[ -n "$base" ] || fail "the server did not start within 2 minutes: $(tail -n 20 "$log")"
token="$(awk '$1 == "ministry" && $2 ~ /^rst_/ { print $2; exit }' "$log")"
[ -n "$token" ] || fail "the demo printed no ministry token"
echo "api-check: serving the demo on $base"

doc="$work/openapi.json"
curl --silent --show-error --fail -H "Authorization: Bearer $token" "$base/api/v1/openapi.json" -o "$doc" ||
    fail "GET /api/v1/openapi.json"
"$venv/bin/openapi-spec-validator" "$doc" || fail "the served document is not valid OpenAPI"

# Every command's example validates against its own body schema (formats and patterns too).
"$venv/bin/python" - "$doc" <<'EOF' || fail "a command example does not validate against its body schema"
import json, sys
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

doc = json.load(open(sys.argv[1]))
registry = Registry().with_resource("urn:doc", Resource.from_contents(doc, default_specification=DRAFT202012))
bad = checked = 0
for name, schema in doc["components"]["schemas"].items():
    if not name.endswith("Request"):
        continue
    if not schema.get("examples"):
        print(f"{name} has no example")
        bad += 1
    for example in schema.get("examples", []):
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"urn:doc#/components/schemas/{name}"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        for e in validator.iter_errors(example):
            print(f"{name}: {e.json_path}: {e.message}")
            bad += 1
        checked += 1
print(f"api-check: {checked} command examples validate against their body schemas")
sys.exit(1 if bad or not checked else 0)
EOF

# Bounded: `EXAMPLES` cases per operation and phase, two workers, no stateful phase.
# A check the API fails (or a 5xx, a dropped connection) fails at once. Schemathesis's own
# runtime error, with no failed check, is run again once: under load its generator has been
# seen to die inside CPython's `ast` module ("AST constructor recursion depth mismatch") while
# describing a strategy, an error of the tool, not an answer of the server.
run_schemathesis() {
    local who="$1"
    shift
    local attempt out
    for attempt in 1 2; do
        echo "api-check: schemathesis, $who (run $attempt)"
        out="$work/schemathesis-$who-$attempt.log"
        # From the work directory: schemathesis leaves a cache directory where it runs.
        if (cd "$work" && "$venv/bin/schemathesis" run "$doc" --url "$base" "$@" \
            --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
            --phases examples,coverage,fuzzing \
            --max-examples "$EXAMPLES" \
            --workers 2 \
            --request-timeout 20 \
            --generation-database none \
            --seed 20261130 \
            --no-color \
            --report junit --report-dir "$work/report-$who") 2>&1 | tee "$out"; then
            return 0
        fi
        if grep -q "FAILURES" "$out" || ! grep -q "^Runtime Error$" "$out"; then
            break
        fi
        echo "api-check: schemathesis ($who) stopped on an error of its own, with no failed check; running it again"
    done
    fail "schemathesis ($who) found responses the document does not describe, 5xx or dropped connections; see above"
}
run_schemathesis ministry -H "Authorization: Bearer $token"
run_schemathesis anonymous

kill -0 "$server" 2>/dev/null || fail "the server died during the run: $(tail -n 20 "$log")"
echo "api-check: the served OpenAPI document is valid and the server answers as it says"
