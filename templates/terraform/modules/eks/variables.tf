variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
}

variable "cluster_version" {
  description = "Kubernetes version of the control plane."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint publicly."
  type        = bool
}

variable "endpoint_private_access" {
  description = "Expose the Kubernetes API endpoint inside the VPC."
  type        = bool
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public endpoint."
  type        = list(string)
}

variable "log_types" {
  description = "Control-plane log types sent to CloudWatch."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Days control-plane logs are kept."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the control-plane log group."
  type        = string
}

variable "node_groups" {
  description = "Managed node groups by name."
  type = map(object({
    instance_types  = list(string)
    capacity_type   = string
    min_size        = number
    desired_size    = number
    max_size        = number
    disk_size_gb    = number
    max_unavailable = number
    labels          = map(string)
    taints = list(object({
      key    = string
      value  = optional(string)
      effect = string
    }))
  }))
}

variable "addons" {
  description = "Managed add-ons to install."
  type = object({
    vpc_cni    = bool
    coredns    = bool
    kube_proxy = bool
    ebs_csi    = bool
  })
}

variable "service_account_roles" {
  description = "IAM roles for service accounts (IRSA), by role suffix: the Kubernetes service account allowed to assume it and the role's inline policy."
  type = map(object({
    namespace       = string
    service_account = string
    policy_json     = string
  }))
  default = {}
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
