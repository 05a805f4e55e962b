# Developers keep the ArsipQ services' secrets: everything under arsipq/, including versions and
# metadata, and nothing else.
path "arsipq/data/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "arsipq/metadata/*" {
  capabilities = ["read", "list", "delete"]
}
path "arsipq/delete/*" {
  capabilities = ["update"]
}
path "arsipq/undelete/*" {
  capabilities = ["update"]
}
