output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master credentials in."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}

output "instance_arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "kms_key_arn" {
  description = "KMS key of the storage, snapshots and the master secret (readers of the secret need kms:Decrypt on it)."
  value       = aws_kms_key.this.arn
}

output "resource_id" {
  description = "Resource id of the DB instance (IAM database authentication policies name it)."
  value       = aws_db_instance.this.resource_id
}
