variable "name" {
  description = "Prefix of every resource name, e.g. myhealth-dev."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster the subnets are tagged for (load balancer discovery)."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
}

variable "azs" {
  description = "Availability zones, one per public/private subnet pair."
  type        = list(string)
}

variable "public_subnets" {
  description = "Public subnet CIDRs, in the order of azs."
  type        = list(string)

  validation {
    condition     = length(var.public_subnets) == length(var.azs)
    error_message = "Give exactly one public subnet per availability zone."
  }
}

variable "private_subnets" {
  description = "Private subnet CIDRs, in the order of azs."
  type        = list(string)

  validation {
    condition     = length(var.private_subnets) == length(var.azs)
    error_message = "Give exactly one private subnet per availability zone."
  }
}

variable "nat_mode" {
  description = "NAT gateway layout: single (one shared), per_az (one per AZ) or none."
  type        = string

  validation {
    condition     = contains(["single", "per_az", "none"], var.nat_mode)
    error_message = "nat_mode must be single, per_az or none."
  }
}

variable "enable_vpc_endpoints" {
  description = "Create the S3 gateway endpoint and the ECR, Secrets Manager and STS interface endpoints."
  type        = bool
}

variable "flow_logs_retention_days" {
  description = "Days VPC flow logs are kept in CloudWatch Logs."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "flow_logs_log_group" {
  description = "Name of the flow logs' log group."
  type        = string
}

variable "flow_logs_role_name" {
  description = "Name of the role VPC Flow Logs writes with."
  type        = string
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary every role this module creates carries (the access root's; the apply may create roles only inside it)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
