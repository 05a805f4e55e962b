# The zones already exist and are looked up, not managed: records inside them belong to
# external-dns in each cluster.
data "cloudflare_zone" "cluster" {
  for_each = var.zones

  filter = {
    name = each.value
    account = {
      id = var.account_id
    }
  }
}
