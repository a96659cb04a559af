output "repository_urls" {
  description = "Repository URLs by service."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by service."
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}
