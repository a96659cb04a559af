variable "name" {
  description = "Prefix of every resource name, e.g. myhealth-dev."
  type        = string
}

variable "vpc_id" {
  description = "VPC the in-cluster ingress runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the VPC link and the internal load balancer."
  type        = list(string)
}

variable "load_balancer_name" {
  description = "Name of the internal network load balancer (32 characters at most)."
  type        = string
}

variable "target_group_name" {
  description = "Name of its target group: the chart's TargetGroupBinding finds it by this name."
  type        = string
}

variable "target_port" {
  description = "Pod port the target group sends to (targets are pod IPs: the ingress gateway's HTTP port, or api-service's)."
  type        = number
}

variable "target_security_group_id" {
  description = "Security group of the nodes the target pods run on (admits the load balancer on target_port)."
  type        = string
}

variable "cors_allow_origins" {
  description = "Origins allowed by CORS."
  type        = list(string)
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second on the default route."
  type        = number
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed on the default route."
  type        = number
}

variable "access_log_retention_days" {
  description = "Days access logs are kept."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the access log group."
  type        = string
}

variable "custom_domain" {
  description = "Host name to serve the API on (with an ACM certificate validated in the hosted zone), or null."
  type        = string
  default     = null
}

variable "hosted_zone_name" {
  description = "Route 53 public hosted zone of custom_domain."
  type        = string
  default     = null
}

variable "access_log_group" {
  description = "Name of the access logs' log group."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
