locals {
  # One bucket per backup tool and cluster, e.g. k8s-ops-volsync-infra, k8s-ops-cnpg-apps.
  backup_tools = ["volsync", "cnpg"]
  backup_buckets = {
    for pair in setproduct(local.backup_tools, keys(var.zones)) :
    "${pair[0]}-${pair[1]}" => "k8s-ops-${pair[0]}-${pair[1]}"
  }
}

resource "cloudflare_r2_bucket" "backups" {
  for_each = local.backup_buckets

  account_id    = var.account_id
  name          = each.value
  location      = var.r2_location
  storage_class = "Standard"

  # These hold the only off-site copy of the clusters' data.
  lifecycle {
    prevent_destroy = true
  }
}
