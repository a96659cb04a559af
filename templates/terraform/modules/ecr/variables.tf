variable "repositories" {
  description = "Repository name by service (the images the chart pulls name them)."
  type        = map(string)
}

variable "image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE."
  type        = string

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be MUTABLE or IMMUTABLE."
  }
}

variable "scan_on_push" {
  description = "Scan images for vulnerabilities when pushed."
  type        = bool
}

variable "keep_last" {
  description = "Images kept per repository by the lifecycle policy."
  type        = number
}

variable "release_tag_prefix" {
  description = "Tag prefix of images a release record pins (the lifecycle policy never expires them)."
  type        = string
}

variable "pull_principals" {
  description = "Release roles of environments in other accounts that copy images from here (pull only)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
