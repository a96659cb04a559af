variable "plan_role_name" {
  description = "Role pull-request workflows assume (read-only plan); the workflows name it."
  type        = string
}

variable "apply_role_name" {
  description = "Role the protected GitHub environment assumes to apply; the workflows name it."
  type        = string
}

variable "github_owner" {
  description = "GitHub user or organisation of the repository."
  type        = string
}

variable "github_repo" {
  description = "GitHub repository the roles trust."
  type        = string
}

variable "github_environment" {
  description = "GitHub environment whose deployment jobs may assume the apply role."
  type        = string
}

variable "replan_environment" {
  description = "GitHub environment that re-approves an apply whose plan differs from the one the pull request reviewed; it may assume the apply role too."
  type        = string
}

variable "main_branch" {
  description = "Branch whose workflows may assume the plan role (the plan before an apply), beside pull requests."
  type        = string
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider (one per account: only the first environment in an account creates it)."
  type        = bool
}

variable "state_bucket" {
  description = "S3 bucket of the Terraform state (the plan role needs to read it and take the lock)."
  type        = string
}

variable "state_key" {
  description = "State object key of this environment."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
