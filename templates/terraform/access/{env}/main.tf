# Who may change this environment, and how: the roles GitHub Actions assumes
# (plan, apply, release), each trusted only by the GitHub environment whose
# jobs use it, and the permissions boundary every role the apply creates must
# carry. An administrator applies this root; no role it defines can change it
# (docs/security.md, "Who may assume what").
#
# Scoping: by name wherever AWS puts a name we choose into the ARN (IAM
# roles and policies, EKS, RDS, ECR, Secrets Manager, SSM, log groups, load
# balancers, budgets), by the `Environment` tag everywhere else (EC2, KMS,
# API Gateway, ACM, CloudFront): every resource this environment creates
# carries it (the provider's default tags), a create must set it, and nothing
# may change or remove it.

data "aws_partition" "current" {}

data "aws_kms_alias" "state" {
  name = var.state_kms_alias
}

locals {
  arn     = "arn:${data.aws_partition.current.partition}"
  account = "${var.region}:${var.account_id}"
  iam     = "${local.arn}:iam::${var.account_id}"
  state   = "${local.arn}:s3:::${var.state_bucket}"

  # Resources of this environment only, by tag.
  own_tag = { test = "StringEquals", variable = "aws:ResourceTag/Environment", values = [var.environment] }
  new_tag = { test = "StringEquals", variable = "aws:RequestTag/Environment", values = [var.environment] }

  secret_arns = concat(
    [for n in var.secret_names : "${local.arn}:secretsmanager:${local.account}:secret:${n}-??????"],
    var.secret_arns,
  )
  generated_secret_arns = [for n in var.generated_secret_names : "${local.arn}:secretsmanager:${local.account}:secret:${n}-??????"]
  log_group_arns        = flatten([for g in var.log_groups : ["${local.arn}:logs:${local.account}:log-group:${g}", "${local.arn}:logs:${local.account}:log-group:${g}:*"]])
  own_repositories      = "${local.arn}:ecr:${local.account}:repository/${var.ecr_repository_prefix}*"
  parameter_arn         = "${local.arn}:ssm:${local.account}:parameter${var.db_parameter}"
  cluster_arn           = "${local.arn}:eks:${local.account}:cluster/${var.cluster_name}"
  boundary_arn          = "${local.iam}:policy/${var.boundary_name}"
  github_role_arns      = [for r in values(var.github_roles) : "${local.iam}:role/${r.name}"]
}

# --- the state: this environment's object only --------------------------------

data "aws_iam_policy_document" "state_read" {
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [local.state]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      # Terraform also lists `env:/` (its workspaces): none are used, so that lists nothing.
      values = [var.state_key, "${var.state_key}.tflock", "env:/", "env:/*"]
    }
  }

  statement {
    sid       = "StateRead"
    actions   = ["s3:GetObject"]
    resources = ["${local.state}/${var.state_key}"]
  }

  # S3 decrypts the state with the bootstrap's key on the reader's behalf.
  statement {
    sid       = "StateDecrypt"
    actions   = ["kms:Decrypt"]
    resources = [data.aws_kms_alias.state.target_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "state_write" {
  # Writing the state and taking (and releasing) its lock: the S3 native
  # lock file beside it.
  statement {
    sid       = "StateWrite"
    actions   = ["s3:PutObject"]
    resources = ["${local.state}/${var.state_key}"]
  }

  statement {
    sid       = "StateLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state}/${var.state_key}.tflock"]
  }

  statement {
    sid       = "StateEncrypt"
    actions   = ["kms:GenerateDataKey", "kms:Encrypt"]
    resources = [data.aws_kms_alias.state.target_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

# --- reading what a plan refreshes (plan, apply) --------------------------------

data "aws_iam_policy_document" "read" {
  # Only listable account-wide in AWS (no resource-level permissions).
  statement {
    sid = "DescribeAccountWide"
    actions = [
      "acm:ListCertificates",
      "autoscaling:Describe*",
      "eks:DescribeAddonVersions",
      "elasticloadbalancing:Describe*",
      "kms:ListAliases",
      "logs:DescribeLogGroups",
      "rds:DescribeDBEngineVersions",
      "rds:DescribeOrderableDBInstanceOptions",
      "route53:ListHostedZones",
      "secretsmanager:ListSecrets",
      "ssm:DescribeParameters",
      "sts:GetCallerIdentity",
    ]
    resources = ["*"]
  }

  # EC2's describe calls, most without resource-level permissions: in this
  # environment's region only.
  statement {
    sid       = "DescribeRegion"
    actions   = ["ec2:Describe*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  # API Gateway authorizes reads by path: this region's APIs and domains.
  statement {
    sid       = "ReadApis"
    actions   = ["apigateway:GET"]
    resources = ["${local.arn}:apigateway:${var.region}::/*"]
  }

  statement {
    sid = "ReadOwnByName"
    actions = [
      "ecr:DescribeRepositories",
      "ecr:GetLifecyclePolicy",
      "ecr:GetRepositoryPolicy",
      "ecr:ListTagsForResource",
    ]
    resources = [local.own_repositories]
  }

  statement {
    sid       = "ReadOwnCluster"
    actions   = ["eks:Describe*", "eks:List*"]
    resources = [local.cluster_arn, "${local.arn}:eks:${local.account}:*/${var.cluster_name}/*"]
  }

  statement {
    sid = "ReadOwnDatabase"
    actions = [
      "rds:DescribeDBInstances",
      "rds:DescribeDBParameterGroups",
      "rds:DescribeDBParameters",
      "rds:DescribeDBSubnetGroups",
      "rds:ListTagsForResource",
    ]
    resources = [
      "${local.arn}:rds:${local.account}:db:${var.db_identifier}",
      "${local.arn}:rds:${local.account}:pg:${var.db_identifier}-*",
      "${local.arn}:rds:${local.account}:subgrp:${var.db_identifier}",
    ]
  }

  statement {
    sid       = "ReadOwnSecretsMetadata"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"]
    resources = local.secret_arns
  }

  # The connection parameter holds no secret (host, port, database, the
  # master secret's ARN), so it is a plain String: reading it needs no key.
  statement {
    sid       = "ReadOwnParameter"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"]
    resources = [local.parameter_arn]
  }

  statement {
    sid       = "ReadOwnLogGroups"
    actions   = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    resources = local.log_group_arns
  }

  statement {
    sid = "ReadOwnLoadBalancer"
    actions = [
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
    ]
    resources = [
      "${local.arn}:elasticloadbalancing:${local.account}:loadbalancer/*/${var.load_balancer_name}/*",
      "${local.arn}:elasticloadbalancing:${local.account}:listener/*/${var.load_balancer_name}/*",
      "${local.arn}:elasticloadbalancing:${local.account}:targetgroup/${var.target_group_name}/*",
    ]
  }

  statement {
    sid       = "ReadOwnBudget"
    actions   = ["budgets:ViewBudget", "budgets:ListTagsForResource"]
    resources = ["${local.arn}:budgets::${var.account_id}:budget/${var.budget_name}"]
  }

  statement {
    sid = "ReadOwnTagged"
    actions = [
      "acm:DescribeCertificate",
      "acm:ListTagsForCertificate",
      "cloudfront:GetDistribution",
      "cloudfront:GetOriginAccessControl",
      "cloudfront:ListTagsForResource",
      "iam:GetOpenIDConnectProvider",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
    ]
    resources = ["*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  statement {
    sid       = "ReadHostedZone"
    actions   = ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"]
    resources = ["${local.arn}:route53:::hostedzone/*", "${local.arn}:route53:::change/*"]
  }

  # The frontend's bucket (by name; S3 has no resource tags in IAM).
  statement {
    sid = "ReadOwnBucket"
    actions = [
      "s3:GetAccelerateConfiguration",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketLogging",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketOwnershipControls",
      "s3:GetBucketPolicy",
      "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketRequestPayment",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetBucketWebsite",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      "s3:GetReplicationConfiguration",
      "s3:ListBucket",
    ]
    resources = ["${local.arn}:s3:::${var.frontend_bucket}"]
  }

  # Never a secret's value, whatever another statement says.
  statement {
    sid       = "NoSecretValues"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue", "ssm:GetParametersByPath", "kms:Decrypt"]
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

# --- changing this environment (apply) ------------------------------------------

data "aws_iam_policy_document" "change" {
  # EC2: creates must tag the new resource with this environment; everything
  # else only on resources that carry its tag.
  statement {
    sid = "Ec2Create"
    actions = [
      "ec2:AllocateAddress",
      "ec2:CreateFlowLogs",
      "ec2:CreateInternetGateway",
      "ec2:CreateLaunchTemplate",
      "ec2:CreateNatGateway",
      "ec2:CreateRouteTable",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet",
      "ec2:CreateVpc",
      "ec2:CreateVpcEndpoint",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
    ]
    resources = ["*"]

    condition {
      test     = local.new_tag.test
      variable = local.new_tag.variable
      values   = local.new_tag.values
    }
  }

  statement {
    sid       = "Ec2TagOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values = [
        "AllocateAddress", "AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress", "CreateFlowLogs",
        "CreateInternetGateway", "CreateLaunchTemplate", "CreateNatGateway", "CreateRouteTable",
        "CreateSecurityGroup", "CreateSubnet", "CreateVpc", "CreateVpcEndpoint",
      ]
    }
  }

  statement {
    sid = "Ec2ChangeOwn"
    actions = [
      "ec2:AssociateRouteTable",
      "ec2:AttachInternetGateway",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateLaunchTemplateVersion",
      "ec2:CreateNatGateway",
      "ec2:CreateRoute",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet",
      "ec2:CreateTags",
      "ec2:CreateVpcEndpoint",
      "ec2:CreateFlowLogs",
      "ec2:DeleteFlowLogs",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteLaunchTemplate",
      "ec2:DeleteNatGateway",
      "ec2:DeleteRoute",
      "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet",
      "ec2:DeleteTags",
      "ec2:DeleteVpc",
      "ec2:DeleteVpcEndpoints",
      "ec2:DetachInternetGateway",
      "ec2:DisassociateAddress",
      "ec2:DisassociateRouteTable",
      "ec2:ModifyLaunchTemplate",
      "ec2:ModifySecurityGroupRules",
      "ec2:ModifySubnetAttribute",
      "ec2:ModifyVpcAttribute",
      "ec2:ModifyVpcEndpoint",
      "ec2:ReleaseAddress",
      "ec2:ReplaceRoute",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RunInstances",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    resources = ["*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  # The VPC's default security group is AWS's, born untagged: it may be
  # tagged with this environment (aws_default_security_group adopts it).
  statement {
    sid       = "Ec2AdoptDefaultSecurityGroup"
    actions   = ["ec2:CreateTags", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"]
    resources = ["${local.arn}:ec2:${local.account}:security-group/*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/Environment"
      values   = ["true"]
    }
  }

  # KMS keys: created tagged, then only this environment's.
  statement {
    sid       = "KmsCreate"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"]

    condition {
      test     = local.new_tag.test
      variable = local.new_tag.variable
      values   = local.new_tag.values
    }
  }

  statement {
    sid = "KmsChangeOwn"
    actions = [
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:EnableKeyRotation",
      "kms:GenerateDataKey",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["${local.arn}:kms:${local.account}:key/*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  statement {
    sid       = "KmsOwnAliases"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [for a in var.kms_aliases : "${local.arn}:kms:${local.account}:${a}"]
  }

  # IAM roles of the workloads: created tagged and inside the boundary, then
  # changed only while they are this environment's; the GitHub roles and the
  # boundary itself are never theirs to change (denied below).
  statement {
    sid       = "IamCreateRoleInBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"]
    resources = ["${local.iam}:role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }

    condition {
      test     = local.new_tag.test
      variable = local.new_tag.variable
      values   = local.new_tag.values
    }
  }

  statement {
    sid = "IamChangeOwnRoles"
    actions = [
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["${local.iam}:role/*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  # Only the AWS-managed policies the modules attach.
  statement {
    sid       = "IamAttachManagedPolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = ["${local.iam}:role/*"]

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = [for p in var.managed_policies : "${local.arn}:iam::aws:policy/${p}"]
    }

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  # Roles handed to AWS services: exactly these, to exactly those services.
  statement {
    sid       = "IamPassServiceRoles"
    actions   = ["iam:PassRole"]
    resources = [for r in var.passed_roles : "${local.iam}:role/${r}"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["eks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com", "ec2.amazonaws.com"]
    }
  }

  # The cluster's OIDC provider (IRSA).
  statement {
    sid       = "IamCreateClusterOidcProvider"
    actions   = ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"]
    resources = ["${local.iam}:oidc-provider/oidc.eks.${var.region}.amazonaws.com/id/*"]

    condition {
      test     = local.new_tag.test
      variable = local.new_tag.variable
      values   = local.new_tag.values
    }
  }

  statement {
    sid = "IamChangeClusterOidcProvider"
    actions = [
      "iam:DeleteOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider",
      "iam:UntagOpenIDConnectProvider",
      "iam:UpdateOpenIDConnectProviderThumbprint",
    ]
    resources = ["${local.iam}:oidc-provider/oidc.eks.${var.region}.amazonaws.com/id/*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  # Services whose ARNs carry names this environment owns.
  statement {
    sid       = "EksOwnCluster"
    actions   = ["eks:*"]
    resources = [local.cluster_arn, "${local.arn}:eks:${local.account}:*/${var.cluster_name}/*"]
  }

  statement {
    sid     = "RdsOwnDatabase"
    actions = ["rds:*"]
    resources = [
      "${local.arn}:rds:${local.account}:db:${var.db_identifier}",
      "${local.arn}:rds:${local.account}:pg:${var.db_identifier}-*",
      "${local.arn}:rds:${local.account}:subgrp:${var.db_identifier}",
      "${local.arn}:rds:${local.account}:snapshot:${var.db_identifier}-*",
    ]
  }

  statement {
    sid       = "EcrOwnRepositories"
    actions   = ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepositoryPolicy", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource"]
    resources = [local.own_repositories]
  }

  # Secrets: their metadata, and a value only for those myhealthctl
  # generates — written, never read.
  statement {
    sid = "SecretsOwnMetadata"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:DeleteResourcePolicy",
      "secretsmanager:PutResourcePolicy",
      "secretsmanager:RestoreSecret",
      "secretsmanager:TagResource",
      "secretsmanager:UntagResource",
      "secretsmanager:UpdateSecret",
    ]
    resources = local.secret_arns
  }

  statement {
    sid       = "SecretsGenerateValues"
    actions   = ["secretsmanager:PutSecretValue"]
    resources = local.generated_secret_arns
  }

  statement {
    sid       = "SsmOwnParameter"
    actions   = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"]
    resources = [local.parameter_arn]
  }

  statement {
    sid       = "LogsOwnGroups"
    actions   = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:TagLogGroup", "logs:UntagResource", "logs:UntagLogGroup"]
    resources = local.log_group_arns
  }

  statement {
    sid     = "LoadBalancerOwn"
    actions = ["elasticloadbalancing:*"]
    resources = [
      "${local.arn}:elasticloadbalancing:${local.account}:loadbalancer/*/${var.load_balancer_name}/*",
      "${local.arn}:elasticloadbalancing:${local.account}:listener/*/${var.load_balancer_name}/*",
      "${local.arn}:elasticloadbalancing:${local.account}:targetgroup/${var.target_group_name}/*",
    ]
  }

  statement {
    sid       = "BudgetOwn"
    actions   = ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"]
    resources = ["${local.arn}:budgets::${var.account_id}:budget/${var.budget_name}"]
  }

  # API Gateway, ACM and CloudFront: by tag.
  statement {
    sid       = "TaggedCreate"
    actions   = ["apigateway:POST", "apigateway:PUT", "acm:RequestCertificate", "acm:AddTagsToCertificate", "cloudfront:CreateDistribution", "cloudfront:CreateOriginAccessControl", "cloudfront:TagResource", "eks:CreateCluster", "eks:TagResource"]
    resources = ["*"]

    condition {
      test     = local.new_tag.test
      variable = local.new_tag.variable
      values   = local.new_tag.values
    }
  }

  statement {
    sid       = "TaggedChange"
    actions   = ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT", "acm:DeleteCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution", "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl", "cloudfront:TagResource", "cloudfront:UntagResource"]
    resources = ["*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }

  # DNS: only this environment's API host and its certificate's validation records.
  statement {
    sid       = "Route53OwnRecords"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["${local.arn}:route53:::hostedzone/*"]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
      values   = [var.api_host, "_*.${var.api_host}"]
    }
  }

  statement {
    sid       = "FrontendBucket"
    actions   = ["s3:*"]
    resources = ["${local.arn}:s3:::${var.frontend_bucket}", "${local.arn}:s3:::${var.frontend_bucket}/*"]
  }

  # What no grant above may be read to allow.
  statement {
    sid       = "NeverTheGithubRolesOrTheBoundary"
    effect    = "Deny"
    actions   = ["iam:*"]
    resources = concat(local.github_role_arns, [local.boundary_arn])

    condition {
      test     = "StringNotLike"
      variable = "iam:*"
      values   = ["*"]
    }
  }

  statement {
    sid       = "NeverLeaveTheBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:CreateUser", "iam:CreateAccessKey"]
    resources = ["*"]
  }

  statement {
    sid       = "NeverRetagAnotherEnvironment"
    effect    = "Deny"
    actions   = ["ec2:CreateTags", "kms:TagResource", "iam:TagRole", "apigateway:PUT", "apigateway:POST", "acm:AddTagsToCertificate", "cloudfront:TagResource", "iam:TagOpenIDConnectProvider"]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/Environment"
      values   = ["false"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestTag/Environment"
      values   = [var.environment]
    }
  }

  statement {
    sid       = "NeverUntagTheEnvironment"
    effect    = "Deny"
    actions   = ["ec2:DeleteTags", "kms:UntagResource", "iam:UntagRole", "acm:RemoveTagsFromCertificate", "cloudfront:UntagResource", "iam:UntagOpenIDConnectProvider"]
    resources = ["*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "aws:TagKeys"
      values   = ["Environment"]
    }
  }
}

# --- releasing (push, copy, sync) ---------------------------------------------

data "aws_iam_policy_document" "release" {
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushOwnImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [local.own_repositories]
  }

  # The recorded digests come from the environment released from (copied by digest).
  dynamic "statement" {
    for_each = length(var.ecr_source_repositories) > 0 ? [1] : []

    content {
      sid       = "PullReleasedImages"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
      resources = var.ecr_source_repositories
    }
  }

  # `aws eks update-kubeconfig`; what it may do in the cluster is its access
  # entry's Kubernetes group (ArgoCD's Applications in `argocd`, nothing else).
  statement {
    sid       = "FindTheCluster"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }
}

# --- the boundary of every role the apply creates -------------------------------

# What the workloads' roles (EKS cluster and nodes, IRSA, flow logs, RDS
# monitoring) may ever do, whatever policy the apply attaches: what the
# AWS-managed policies they use need, this environment's secrets, parameter
# and keys — and no IAM, so no role created here can make another.
data "aws_iam_policy_document" "boundary" {
  #checkov:skip=CKV_AWS_107:A permissions boundary caps, it grants nothing: each role's own policy names its resources (the ECR login among them).
  #checkov:skip=CKV_AWS_109:A permissions boundary caps, it grants nothing: each role's own policy names its resources.
  #checkov:skip=CKV_AWS_111:A permissions boundary caps, it grants nothing: each role's own policy names its resources.
  #checkov:skip=CKV_AWS_356:A permissions boundary caps, it grants nothing: each role's own policy names its resources.
  statement {
    sid = "Workloads"
    actions = [
      "autoscaling:*",
      "ec2:AssignIpv6Addresses",
      "ec2:AssignPrivateIpAddresses",
      "ec2:AttachNetworkInterface",
      "ec2:AttachVolume",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateNetworkInterface",
      "ec2:CreateNetworkInterfacePermission",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSnapshot",
      "ec2:CreateTags",
      "ec2:CreateVolume",
      "ec2:DeleteNetworkInterface",
      "ec2:DeleteNetworkInterfacePermission",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSnapshot",
      "ec2:DeleteTags",
      "ec2:DeleteVolume",
      "ec2:Describe*",
      "ec2:DetachNetworkInterface",
      "ec2:DetachVolume",
      "ec2:EnableFastSnapshotRestores",
      "ec2:Get*",
      "ec2:ModifyNetworkInterfaceAttribute",
      "ec2:ModifyVolume",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:UnassignIpv6Addresses",
      "ec2:UnassignPrivateIpAddresses",
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:GetAuthorizationToken",
      "ecr:GetDownloadUrlForLayer",
      "ecr:GetLifecyclePolicy",
      "ecr:GetLifecyclePolicyPreview",
      "ecr:GetRepositoryPolicy",
      "ecr:ListImages",
      "eks-auth:AssumeRoleForPodIdentity",
      "eks:Describe*",
      "eks:List*",
      "elasticloadbalancing:*",
      "logs:*",
      "cloudwatch:PutMetricData",
      "kms:CreateGrant",
      "kms:DescribeKey",
      "rds-db:connect",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "elasticloadbalancing.amazonaws.com", "autoscaling.amazonaws.com"]
    }
  }

  statement {
    sid       = "OwnSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat(local.secret_arns, ["${local.arn}:secretsmanager:${local.account}:secret:rds!db-*"])
  }

  statement {
    sid       = "OwnParameter"
    actions   = ["ssm:GetParameter"]
    resources = [local.parameter_arn]
  }

  statement {
    sid       = "OwnKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    resources = ["*"]

    condition {
      test     = local.own_tag.test
      variable = local.own_tag.variable
      values   = local.own_tag.values
    }
  }
}

resource "aws_iam_policy" "boundary" {
  name        = var.boundary_name
  description = "Permissions boundary of every role the ${var.environment} apply creates."
  policy      = data.aws_iam_policy_document.boundary.json
}

module "github_oidc" {
  source = "../../modules/github-oidc"

  create_provider = var.create_github_oidc_provider
  roles = {
    plan = {
      name                = var.github_roles.plan.name
      description         = "Plans of ${var.environment} (pull requests, after the merge, drift): reads its state and resources, no secret, no lock."
      subjects            = var.github_roles.plan.subjects
      max_session_seconds = var.github_roles.plan.max_session_seconds
      policy_json         = data.aws_iam_policy_document.plan.json
    }
    apply = {
      name                = var.github_roles.apply.name
      description         = "Applies the reviewed plan of ${var.environment}: its resources and state only."
      subjects            = var.github_roles.apply.subjects
      max_session_seconds = var.github_roles.apply.max_session_seconds
      policy_json         = data.aws_iam_policy_document.apply.json
    }
    release = {
      name                = var.github_roles.release.name
      description         = "Releases ${var.environment}: pushes and copies its images, reaches its cluster's ArgoCD Applications."
      subjects            = var.github_roles.release.subjects
      max_session_seconds = var.github_roles.release.max_session_seconds
      policy_json         = data.aws_iam_policy_document.release.json
    }
  }
}

data "aws_iam_policy_document" "plan" {
  source_policy_documents = [data.aws_iam_policy_document.state_read.json, data.aws_iam_policy_document.read.json]
}

data "aws_iam_policy_document" "apply" {
  source_policy_documents = [
    data.aws_iam_policy_document.state_read.json,
    data.aws_iam_policy_document.state_write.json,
    data.aws_iam_policy_document.read.json,
    data.aws_iam_policy_document.change.json,
  ]
}
