# Secrets the infra cluster needs before External Secrets can fetch anything, as 1Password references.
# Step secrets of scripts/bootstrap.ts runs
#   op inject --in-file bootstrap/infra/secrets.yaml.tpl | kubectl --context infra apply --server-side --filename -
# so the values exist only in 1Password and in the cluster, never on disk or in Git.
# `op inject` pastes a value verbatim, which would break YAML for a multi-line value: multi-line
# secrets (private keys, known_hosts, keys.txt) are kept base64-encoded in fields named *-base64 and go
# under `data`; single-line ones go under `stringData`. docs/runbooks/bootstrap.md lists the items.
# 1Password Connect's own credentials are not here: Flux applies them from the SOPS file
# clusters/infra/secrets/onepassword-connect/ (task op:seal-connect), with the sops-age key below.
apiVersion: v1
kind: Namespace
metadata:
  name: flux-system
---
apiVersion: v1
kind: Namespace
metadata:
  name: cert-manager
---
# Flux decrypts *.sops.yaml with this AGE key (decryption.secretRef of every Kustomization).
apiVersion: v1
kind: Secret
metadata:
  name: sops-age
  namespace: flux-system
type: Opaque
data:
  age.agekey: op://k8s-ops/sops-age/keys.txt-base64
---
# Read-only deploy key of github.com/monosense/k8s-ops (GitRepository flux-system, secretRef).
apiVersion: v1
kind: Secret
metadata:
  name: github-deploy-key
  namespace: flux-system
type: Opaque
data:
  identity: op://k8s-ops/flux-deploy-key-infra/identity-base64
  known_hosts: op://k8s-ops/flux-deploy-key-infra/known_hosts-base64
stringData:
  identity.pub: op://k8s-ops/flux-deploy-key-infra/identity.pub
---
# Cloudflare API token (Zone:DNS:Edit on the cluster's zone) for cert-manager's DNS-01 solver.
apiVersion: v1
kind: Secret
metadata:
  name: cloudflare-api-token
  namespace: cert-manager
type: Opaque
stringData:
  api-token: op://k8s-ops/cloudflare/api-token
