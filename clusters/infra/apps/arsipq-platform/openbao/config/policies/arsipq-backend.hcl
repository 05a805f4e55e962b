# The ArsipQ backend services read their own secrets, as Spring Cloud Vault looks them up in the KV v2
# engine arsipq/: arsipq/<application name>[/<profile>] and the shared arsipq/application[/<profile>].
path "arsipq/data/arsipq-backend" {
  capabilities = ["read"]
}
path "arsipq/data/arsipq-backend/*" {
  capabilities = ["read"]
}
path "arsipq/data/application" {
  capabilities = ["read"]
}
path "arsipq/data/application/*" {
  capabilities = ["read"]
}
