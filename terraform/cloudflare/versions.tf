terraform {
  required_version = ">= 1.9.0"

  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "5.15.0"
    }
  }
}

# The API token comes from CLOUDFLARE_API_TOKEN (see README.md), never from a file.
provider "cloudflare" {}
