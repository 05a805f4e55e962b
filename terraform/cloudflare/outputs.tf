output "zone_ids" {
  description = "Zone ID of each cluster's domain, keyed by cluster name."
  value       = { for cluster, zone in data.cloudflare_zone.cluster : cluster => zone.id }
}

output "r2_buckets" {
  description = "Backup bucket names, keyed by <tool>-<cluster>."
  value       = { for key, bucket in cloudflare_r2_bucket.backups : key => bucket.name }
}

output "r2_endpoint" {
  description = "S3 endpoint for VolSync (restic) and the CNPG Barman Cloud plugin."
  value       = "https://${var.account_id}.r2.cloudflarestorage.com"
}
