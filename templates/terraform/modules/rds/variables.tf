variable "identifier" {
  description = "RDS instance identifier (also prefixes its companions)."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL engine version, e.g. 16.4."
  type        = string
}

variable "auto_minor_version_upgrade" {
  description = "Let RDS apply minor versions in the maintenance window (engine_version then names only the major)."
  type        = bool
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage in GiB."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
}

variable "multi_az" {
  description = "Run a synchronous standby in a second availability zone."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups."
  type        = number
}

variable "backup_window" {
  description = "Daily backup window, UTC (hh:mm-hh:mm)."
  type        = string
}

variable "maintenance_window" {
  description = "Weekly maintenance window, UTC (ddd:hh:mm-ddd:hh:mm)."
  type        = string
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
}

variable "master_username" {
  description = "Master user name; its password is generated and kept in Secrets Manager by RDS."
  type        = string
}

variable "performance_insights" {
  description = "Enable Performance Insights (not offered on micro/small classes)."
  type        = bool
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group."
  type        = list(string)
}

variable "allowed_security_groups" {
  description = "Security groups allowed to connect on 5432, by a name known before apply (e.g. eks-cluster = its id)."
  type        = map(string)
}

variable "monitoring_role_name" {
  description = "Name of the role Enhanced Monitoring writes with."
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
