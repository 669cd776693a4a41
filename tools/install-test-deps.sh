#!/usr/bin/env bash
# Installs what the tests drive besides Node: s3cmd, gpg, openssl and rclone for the end-to-end tests; PostgreSQL 15
# and a one-node Ceph (ceph-mon, ceph-osd, radosgw, ceph-common) for the scale-out tests (tools/test-services/); and
# the aws CLI and boto3 for python3. Idempotent: apt runs (update once, then one install) only when a program is
# missing. Needs root (or sudo) for apt.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Each program the tests run, and the Debian package that ships it. PostgreSQL's server programs are not on PATH
# (Debian keeps them under /usr/lib/postgresql/VERSION/bin), hence the full path.
wanted=(
  "s3cmd s3cmd"
  "gpg gnupg"
  "openssl openssl"
  "rclone rclone"
  "/usr/lib/postgresql/15/bin/initdb postgresql"
  "/usr/lib/postgresql/15/bin/pg_ctl postgresql"
  "ceph-mon ceph-mon"
  "ceph-osd ceph-osd"
  "radosgw radosgw"
  "ceph ceph-common"
  "radosgw-admin ceph-common"
  "monmaptool ceph-common"
)
missing=()
for pair in "${wanted[@]}"; do
  read -r program package <<<"$pair"
  if ! command -v "$program" >/dev/null && [[ ! " ${missing[*]} " == *" $package "* ]]; then missing+=("$package"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "+ installing ${missing[*]}"
  started=$SECONDS
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "+ apt took $((SECONDS - started)) s"
fi
if ! python3 -c 'import boto3' 2>/dev/null || ! command -v aws >/dev/null; then
  echo "+ installing awscli and boto3"
  python3 -m pip install --quiet awscli boto3
fi
echo "s3cmd $(s3cmd --version | awk '{print $3}'), $(aws --version 2>&1 | cut -d' ' -f1)," \
  "boto3 $(python3 -c 'import boto3; print(boto3.__version__)')," \
  "PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')," \
  "Ceph $(ceph --version | awk '{print $3}')"
