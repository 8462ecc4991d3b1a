#!/usr/bin/env bash
# Validates deploy/*.yaml against Kubernetes' published schemas, strictly (an unknown or misspelt
# field fails), with `kubernetes-validate` from PyPI in a venv of its own (no cluster needed).
# Usage: bash scripts/check-deploy.sh [KUBERNETES_VERSION]   (default 1.32.0)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-1.32.0}
venv=${TRIAGE_DEPLOY_VENV:-.build/deploy-venv}
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kubernetes-validate
fi
"$venv/bin/kubernetes-validate" -k "$version" --strict deploy/*.yaml
