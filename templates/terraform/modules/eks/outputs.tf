output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the cluster (for kubeconfig)."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to the control plane and managed nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "node_security_group_id" {
  description = "Security group of the managed nodes (admitted by the database)."
  value       = aws_security_group.node.id
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (for IRSA trust policies)."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "node_role_arn" {
  description = "IAM role of the managed nodes."
  value       = aws_iam_role.node.arn
}

output "service_account_role_arns" {
  description = "IRSA role ARNs by role suffix (including ebs-csi when enabled)."
  value       = { for k, r in aws_iam_role.irsa : k => r.arn }
}
