#!/usr/bin/env bash
# A PostgreSQL and a one-node Ceph (monitor, memstore OSD, radosgw) on loopback for developing the scale-out engines:
#   tools/dev-cluster.sh start    starts both under ./.dev-cluster and prints them as environment lines
#                                 (COFFER_TEST_PG_URL=…, COFFER_TEST_S3_ENDPOINT=…, …), for
#                                 set -a; eval "$(tools/dev-cluster.sh start)"; set +a
#   tools/dev-cluster.sh status   says what runs and prints the same lines (exit 1 unless everything runs)
#   tools/dev-cluster.sh stop     stops exactly the processes `start` recorded and removes ./.dev-cluster
# COFFER_DEV_CLUSTER_DIR overrides the directory. The programs come from tools/install-test-deps.sh; the start logic
# is the tests' own (tools/test-services/), so that what a developer runs is what the tests run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  start | stop | status) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
cd "$root"
exec node --import tsx tools/test-services/cli.ts "$1" "${COFFER_DEV_CLUSTER_DIR:-$root/.dev-cluster}"
