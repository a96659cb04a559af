variable "roles" {
  description = "The roles GitHub Actions assumes, by kind: name, the OIDC subjects it trusts, its longest session and its permissions (a policy document)."
  type = map(object({
    name                = string
    description         = string
    subjects            = list(string)
    max_session_seconds = number
    policy_json         = string
  }))
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider (one per account: only the first environment in an account creates it)."
  type        = bool
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
