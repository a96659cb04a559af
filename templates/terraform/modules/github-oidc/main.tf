data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  issuer       = "token.actions.githubusercontent.com"
  provider_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.issuer}"
}

# One per account: the first environment of each account creates it.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 1 : 0

  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

# Each role trusts exactly the subjects GitHub issues to the jobs that assume
# it: `repo:<owner>[@<id>]/<repo>[@<id>]:environment:<github environment>`.
data "aws_iam_policy_document" "trust" {
  #checkov:skip=CKV_AWS_358:The subjects are exact (`repo:OWNER@ID/REPO@ID:environment:NAME`, GitHub's immutable format since 2026), passed in per role; checkov reads neither for_each values nor that format. tests/moto.rs judges every job's real subject against every role.
  for_each = var.roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = each.value.subjects
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name                 = each.value.name
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = each.value.max_session_seconds

  tags = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "this" {
  for_each = var.roles

  name   = "permissions"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy_json
}
