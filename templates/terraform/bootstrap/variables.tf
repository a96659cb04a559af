variable "project" {
  description = "Project name (tag)."
  type        = string
}

variable "region" {
  description = "Region of the state bucket."
  type        = string
}

variable "state_bucket" {
  description = "Name of the S3 bucket that holds every environment's Terraform state."
  type        = string
}
