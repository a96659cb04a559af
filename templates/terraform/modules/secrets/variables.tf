variable "name" {
  description = "Prefix of the KMS key alias, e.g. myhealth-dev."
  type        = string
}

variable "secrets" {
  description = "Secrets by key: the Secrets Manager name, a description, and whether Terraform generates a random value (otherwise the operator sets it)."
  type = map(object({
    name        = string
    description = string
    generate    = bool
  }))
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
