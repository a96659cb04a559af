variable "account_id" {
  description = "The AWS account the budget watches (the environment's)."
  type        = string
}

variable "name" {
  description = "Name of the budget, unique in the account."
  type        = string
}

variable "environment" {
  description = "The environment whose tagged costs the budget counts (the `Environment` tag)."
  type        = string
}

variable "limit_usd" {
  description = "Monthly limit in US dollars."
  type        = number

  validation {
    condition     = var.limit_usd > 0
    error_message = "The limit must be positive."
  }
}

variable "warn_percent" {
  description = "Percentage of the limit at which actual spend notifies."
  type        = number

  validation {
    condition     = var.warn_percent > 0 && var.warn_percent <= 100
    error_message = "The warning percentage must be in (0, 100]."
  }
}

variable "notify_emails" {
  description = "Email addresses notified."
  type        = list(string)
  default     = []
}

variable "sns_topic_arns" {
  description = "SNS topics notified."
  type        = list(string)
  default     = []
}
