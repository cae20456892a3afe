#!/usr/bin/env bash
# Checks that the testcontainers test backend (DBOPT_TEST_BACKEND=testcontainers) fails clearly
# and leaves no container behind when a run goes wrong:
#   1. no engine answers: the run fails fast with the message saying how to start one;
#   2. a run fails after its container started;
#   3. a run is stopped by SIGTERM while its container is up.
# After each, no container labelled by a test run exists and `docker ps -a` lists no more
# containers than before. Case 1 stops the Docker engine and starts it again with the same
# command line: run this as root, on a machine whose engine nothing else is using (CI).
# The runs come from test/fixtures/testcontainers/ (not part of `npm test`).
set -euo pipefail
unset DBOPT_TEST_DATABASE_URL
cd "$(dirname "$0")/.."
export DBOPT_TEST_BACKEND=testcontainers
vitest=(node node_modules/vitest/vitest.mjs run --config test/fixtures/testcontainers/vitest.config.ts)
log=${DBOPT_DOCKERD_LOG:-/tmp/dbopt-dockerd.log}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
  echo "check-test-backend-cleanup: FAIL: $*" >&2
  sed 's/^/  | /' "$out" >&2
  exit 1
}
left() { docker ps -aq --filter label=dbopt.test-run; }
before=$(docker ps -aq | wc -l)
clean() {
  [ -z "$(left)" ] || fail "$1: containers left behind: $(left | tr '\n' ' ')"
  [ "$(docker ps -aq | wc -l)" -le "$before" ] || fail "$1: docker ps -a lists more containers than before"
  echo "ok: $1; docker ps -a: $(docker ps -aq | wc -l) containers"
}
engine_up() {
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  fail "the Docker engine did not come back"
}

# 1. Engine stopped (dockerd, or systemd's docker service).
if systemctl is-active --quiet docker 2>/dev/null; then
  systemctl stop docker.socket docker
  restart() { systemctl start docker; }
else
  pid=$(cat /var/run/docker.pid)
  mapfile -d '' cmd <"/proc/$pid/cmdline"
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  restart() { nohup "${cmd[@]}" >>"$log" 2>&1 & }
fi
t0=$(date +%s%N)
if "${vitest[@]}" fails >"$out" 2>&1; then rc=0; else rc=$?; fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
restart
engine_up
[ "$rc" -ne 0 ] || fail "engine stopped: the run passed"
grep -q 'no container engine answers' "$out" || fail "engine stopped: no message saying how to start an engine"
grep -q 'dockerd' "$out" || fail "engine stopped: the message does not say how to start one"
! grep -qE '^ +(at |❯ )' "$out" || fail "engine stopped: a stack trace was printed"
[ "$ms" -lt 60000 ] || fail "engine stopped: took ${ms} ms to fail (the container start timeout is 120 s)"
clean "engine stopped: exit $rc after ${ms} ms with the message"

# 2. A run that fails once its container is up.
if "${vitest[@]}" fails >"$out" 2>&1; then fail "failing run: the run passed"; fi
grep -q '^testcontainers: ' "$out" || fail "failing run: no container was started"
grep -q 'failing on purpose' "$out" || fail "failing run: it did not fail where expected"
clean "failing run"

# 3. A run stopped by SIGTERM once its container is up, sent to its process group as a CI
#    runner's timeout (or Ctrl-C in a terminal) does, so vitest's workers get it too.
: >"$out"
setsid "${vitest[@]}" waits >>"$out" 2>&1 &
vpid=$!
for _ in $(seq 1 360); do
  grep -q '^testcontainers: ' "$out" && break
  kill -0 "$vpid" 2>/dev/null || fail "signalled run: it ended before its container was up"
  sleep 0.5
done
[ -n "$(left)" ] || { kill -TERM -- "-$vpid"; fail "signalled run: no container to clean up"; }
kill -TERM -- "-$vpid"
if wait "$vpid"; then rc=0; else rc=$?; fi
[ "$rc" -ne 0 ] || fail "signalled run: exit 0 after SIGTERM"
for _ in $(seq 1 20); do pgrep -g "$vpid" >/dev/null || break; sleep 0.5; done
! pgrep -g "$vpid" >/dev/null || fail "signalled run: processes of the run still run: $(pgrep -g "$vpid" | tr '\n' ' ')"
clean "signalled run: exit $rc after SIGTERM"
