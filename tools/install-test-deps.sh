#!/usr/bin/env bash
# Installs what the end-to-end tests drive besides Node: s3cmd, gpg and openssl (Debian packages), and the aws CLI
# and boto3 for python3 when they are missing. Idempotent; needs root (or sudo) for apt.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v s3cmd >/dev/null || ! command -v gpg >/dev/null || ! command -v openssl >/dev/null; then
  echo "+ installing s3cmd, gnupg and openssl"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq s3cmd gnupg openssl >/dev/null
fi
if ! python3 -c 'import boto3' 2>/dev/null || ! command -v aws >/dev/null; then
  echo "+ installing awscli and boto3"
  python3 -m pip install --quiet awscli boto3
fi
echo "s3cmd $(s3cmd --version | awk '{print $3}'), $(aws --version 2>&1 | cut -d' ' -f1), boto3 $(python3 -c 'import boto3; print(boto3.__version__)')"
