output "arns" {
  description = "Secret ARNs by key."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "kms_key_arn" {
  description = "KMS key the secrets are encrypted with (readers need kms:Decrypt on it)."
  value       = aws_kms_key.this.arn
}
