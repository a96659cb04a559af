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
    role_name       = string
    namespace       = string
    service_account = string
    policy_json     = string
  }))
  default = {}
}

variable "log_group_name" {
  description = "Name of the control plane's log group."
  type        = string
}

variable "secrets_kms_alias" {
  description = "Alias of the key that encrypts Kubernetes secrets."
  type        = string
}

variable "cluster_role_name" {
  description = "Name of the cluster's IAM role."
  type        = string
}

variable "node_role_name" {
  description = "Name of the nodes' IAM role."
  type        = string
}

variable "ebs_csi_role_name" {
  description = "Name of the EBS CSI driver's IRSA role."
  type        = string
}

variable "release_principal_arn" {
  description = "The release job's role (GitHub Actions), given an access entry."
  type        = string
}

variable "release_group" {
  description = "The Kubernetes group that role acts as (bound to ArgoCD's Applications only)."
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
