#!/bin/sh
# Brings OpenBao in line with Git, whatever it holds already; run by the CronJob openbao-config (and once
# by `task openbao:init`). Needs BAO_ADDR and a BAO_TOKEN with the openbao-config policy. Plain $VARS
# only: Flux substitutes the braced form in this file.
set -eu

# The token is periodic: renewing it on every run keeps it alive as long as the job runs.
bao token renew >/dev/null

# Kubernetes auth: a pod logs in with its service account token, which OpenBao has the API server
# review (TokenReview, allowed to OpenBao's own service account by the chart's auth-delegator binding).
if ! bao auth list -format=json | grep -q '"kubernetes/"'; then
  bao auth enable kubernetes
fi
bao write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc:443

# The ArsipQ services' secrets: a KV version 2 engine at arsipq/.
if ! bao secrets list -format=json | grep -q '"arsipq/"'; then
  bao secrets enable -path=arsipq -version=2 kv
fi

# Every policy file of the ConfigMap (mounted with this script at /config), under its file name.
dir=$(dirname "$0")
for file in "$dir"/*.hcl; do
  bao policy write "$(basename "$file" .hcl)" "$file"
done

# Which service accounts get which policy: one role per ArsipQ service.
bao write auth/kubernetes/role/arsipq-backend \
  bound_service_account_names=arsipq-backend \
  bound_service_account_namespaces=arsipq \
  token_policies=arsipq-backend \
  token_ttl=1h \
  token_max_ttl=4h

echo "openbao configured: auth kubernetes, kv-v2 arsipq/, policies $(ls "$dir" | grep -c '\.hcl$')"
