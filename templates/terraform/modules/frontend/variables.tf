variable "name" {
  description = "Prefix of every resource name, e.g. myhealth-dev."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
}

variable "bucket" {
  description = "Name of the site's bucket (unique in S3: it carries the account id)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
