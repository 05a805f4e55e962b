variable "account_id" {
  description = "Cloudflare account ID that owns the zones and the R2 buckets."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.account_id))
    error_message = "account_id must be the 32-character hexadecimal Cloudflare account ID."
  }
}

variable "zones" {
  description = "The DNS zone of each cluster, keyed by cluster name."
  type        = map(string)
  default = {
    infra = "monosense.dev"
    apps  = "monosense.io"
  }
}

variable "r2_location" {
  description = "Location hint for the R2 buckets. It only applies when a bucket is created."
  type        = string
  default     = "apac"

  validation {
    condition     = contains(["apac", "eeur", "enam", "weur", "wnam", "oc"], var.r2_location)
    error_message = "r2_location must be one of apac, eeur, enam, weur, wnam, oc."
  }
}
