output "bucket" {
  description = "Bucket the site is uploaded to."
  value       = aws_s3_bucket.site.bucket
}

output "distribution_domain_name" {
  description = "CloudFront domain name of the site."
  value       = aws_cloudfront_distribution.site.domain_name
}
