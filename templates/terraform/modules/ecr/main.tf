resource "aws_ecr_repository" "this" {
  for_each = var.repositories

  name                 = each.value
  image_tag_mutability = var.image_tag_mutability

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }

  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = var.tags
}

# An image a release record pins carries a `<release_tag_prefix>…` tag
# (`myhealthctl push --record`, deploy.yml's copy): never expired, whatever
# the count. Everything else: the last `keep_last` images, untagged ones
# after a week.
resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep every image a release record pins"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = [var.release_tag_prefix]
          countType     = "imageCountMoreThan"
          countNumber   = 10000
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Untagged images after a week"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the last ${var.keep_last} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_last
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Environments in other accounts copy released images from here by digest:
# their release roles may pull, nothing more.
data "aws_iam_policy_document" "pull" {
  count = length(var.pull_principals) > 0 ? 1 : 0

  statement {
    sid     = "ReleaseRolesOfLaterEnvironmentsPull"
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "AWS"
      identifiers = var.pull_principals
    }
  }
}

resource "aws_ecr_repository_policy" "pull" {
  for_each = length(var.pull_principals) > 0 ? aws_ecr_repository.this : {}

  repository = each.value.name
  policy     = data.aws_iam_policy_document.pull[0].json
}
