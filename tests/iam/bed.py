"""The AWS side of tests/moto.rs's IAM test bed (a test tool, never the product).

    bed.py assume ROLE_ARN SUBJECT         credentials for a web-identity session (JSON)
    bed.py admin ACCOUNT                   credentials of an administrator in ACCOUNT (JSON)
    bed.py policies ACCOUNT... > FILE      every role's policies, boundaries and trust, every
                                           key, bucket and repository policy (judge.cjs input)
    bed.py oracle ACCOUNT... > FILE        moto's state calls.py maps calls with (tags, keys, secrets)
    bed.py release CLUSTER                 the AWS calls of deploy.yml's release job, as the
                                           session in the environment (its release role)

All against moto_server (AWS_ENDPOINT_URL, AWS_CA_BUNDLE). moto does not evaluate
IAM (docs/testing.md): it records the calls, the judge evaluates them.
"""

import base64
import json
import os
import sys
import urllib.parse

import boto3

REGION = os.environ.get("AWS_REGION", "us-east-1")
ISSUER = "token.actions.githubusercontent.com"


def client(service, creds=None, region=REGION):
    kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], verify=os.environ.get("AWS_CA_BUNDLE"), region_name=region)
    if creds:
        kw.update(
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=creds["AWS_SESSION_TOKEN"],
        )
    return boto3.client(service, **kw)


def github_token(subject):
    """A token shaped like the one GitHub's OIDC provider issues (its documented claims).
    moto does not verify it; the trust policy is judged by the simulator."""

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {
        "iss": f"https://{ISSUER}",
        "aud": "sts.amazonaws.com",
        "sub": subject,
        "repository": subject.split(":")[1] if subject.count(":") > 1 else "",
        "event_name": "push",
        "runner_environment": "github-hosted",
    }
    return f"{b64({'alg': 'RS256', 'typ': 'JWT', 'kid': 'test'})}.{b64(claims)}.c2lnbmF0dXJl"


def session(c):
    return {
        "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
        "AWS_SESSION_TOKEN": c["SessionToken"],
    }


def assume(role_arn, subject):
    r = client("sts").assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="github", WebIdentityToken=github_token(subject)
    )
    return session(r["Credentials"])


def admin(account):
    r = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/administrator", RoleSessionName="admin")
    creds = session(r["Credentials"])
    # moto builds an account's IAM on its first call (loading every AWS
    # managed policy, seconds): once, here, not under an apply's parallel
    # requests, which race it (a CreateRole answered 500, retried, then 409).
    client("iam", creds).list_roles()
    return creds


def policies(accounts):
    """Everything the judge needs to evaluate a call: by principal, the identity
    policies (inline and attached) and the boundary; by resource, its policy."""
    docs, principals, resources = {}, {}, {}

    def doc(d):
        return json.loads(urllib.parse.unquote(d)) if isinstance(d, str) else d

    for account in accounts:
        creds = admin(account)
        iam = client("iam", creds)
        for role in iam.get_paginator("list_roles").paginate().build_full_result()["Roles"]:
            name, arn = role["RoleName"], role["Arn"]
            ident = []
            for pn in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                key = f"{arn}#inline:{pn}"
                docs[key] = doc(iam.get_role_policy(RoleName=name, PolicyName=pn)["PolicyDocument"])
                ident.append(key)
            for ap in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                key = ap["PolicyArn"]
                if key not in docs:
                    p = iam.get_policy(PolicyArn=key)["Policy"]
                    v = iam.get_policy_version(PolicyArn=key, VersionId=p["DefaultVersionId"])["PolicyVersion"]
                    docs[key] = doc(v["Document"])
                ident.append(key)
            r = iam.get_role(RoleName=name)["Role"]
            boundary = []
            if r.get("PermissionsBoundary"):
                key = r["PermissionsBoundary"]["PermissionsBoundaryArn"]
                p = iam.get_policy(PolicyArn=key)["Policy"]
                docs[key] = doc(iam.get_policy_version(PolicyArn=key, VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"])
                boundary.append(key)
            principals[arn] = {"identity": ident, "boundary": boundary, "tags": {t["Key"]: t["Value"] for t in r.get("Tags", [])}}
            docs[f"{arn}#trust"] = doc(r["AssumeRolePolicyDocument"])
            resources[arn] = f"{arn}#trust"
        kms = client("kms", creds)
        for k in kms.get_paginator("list_keys").paginate().build_full_result()["Keys"]:
            arn = k["KeyArn"]
            docs[f"{arn}#policy"] = json.loads(kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"])
            resources[arn] = f"{arn}#policy"
        s3 = client("s3", creds)
        for b in s3.list_buckets()["Buckets"]:
            try:
                p = s3.get_bucket_policy(Bucket=b["Name"])["Policy"]
            except s3.exceptions.ClientError:
                continue
            arn = f"arn:aws:s3:::{b['Name']}"
            docs[f"{arn}#policy"] = json.loads(p)
            resources[arn] = f"{arn}#policy"
        ecr = client("ecr", creds)
        for repo in ecr.describe_repositories().get("repositories", []):
            try:
                p = ecr.get_repository_policy(repositoryName=repo["repositoryName"])["policyText"]
            except ecr.exceptions.ClientError:
                continue
            docs[f"{repo['repositoryArn']}#policy"] = json.loads(p)
            resources[repo["repositoryArn"]] = f"{repo['repositoryArn']}#policy"
    return {"policies": docs, "principals": principals, "resources": resources}


def oracle(accounts):
    """moto's state after the run, as calls.py needs it: each resource's tags (by ARN
    and by id), secrets' ARNs (by `<account>/<name>`) and keys, keys by id, ARN and
    `<account>/<alias>`, the state buckets' keys."""
    tags, secrets, secret_keys, keys, state_keys, ids = {}, {}, {}, {}, {}, {}

    def put(ids, tl):
        t = {x.get("Key", x.get("key", x.get("TagKey"))): x.get("Value", x.get("value", x.get("TagValue"))) for x in tl} if isinstance(tl, list) else dict(tl or {})
        for i in ids:
            if i:
                tags[i] = t

    for account in accounts:
        creds = admin(account)
        ec2 = client("ec2", creds)
        by_id = {}
        for t in ec2.get_paginator("describe_tags").paginate().build_full_result()["Tags"]:
            by_id.setdefault(t["ResourceId"], []).append(t)
        for rid, tl in by_id.items():
            put([rid], tl)
        # What an association id stands for (a disassociation names only it).
        for a in ec2.describe_addresses()["Addresses"]:
            if a.get("AssociationId"):
                ids[a["AssociationId"]] = {"AllocationId": a["AllocationId"]}
        for rt in ec2.describe_route_tables()["RouteTables"]:
            for a in rt.get("Associations", []):
                ids[a["RouteTableAssociationId"]] = {"RouteTableId": rt["RouteTableId"], "SubnetId": a.get("SubnetId", "")}
        iam = client("iam", creds)
        for r in iam.get_paginator("list_roles").paginate().build_full_result()["Roles"]:
            put([r["Arn"]], iam.list_role_tags(RoleName=r["RoleName"])["Tags"])
        for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            put([p["Arn"]], iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=p["Arn"]).get("Tags", []))
        kms = client("kms", creds)
        for k in kms.get_paginator("list_keys").paginate().build_full_result()["Keys"]:
            put([k["KeyArn"], k["KeyId"]], kms.list_resource_tags(KeyId=k["KeyId"]).get("Tags", []))
            keys[k["KeyId"]] = k["KeyArn"]
            keys[k["KeyArn"]] = k["KeyArn"]
        for a in kms.list_aliases()["Aliases"]:
            if a.get("TargetKeyId"):
                arn = keys.get(a["TargetKeyId"])
                keys[f"{account}/{a['AliasName']}"] = arn
                keys[a["AliasArn"]] = arn
        sm = client("secretsmanager", creds)
        for s in sm.get_paginator("list_secrets").paginate().build_full_result()["SecretList"]:
            secrets[f"{account}/{s['Name']}"] = s["ARN"]
            put([s["ARN"]], s.get("Tags", []))
            if s.get("KmsKeyId"):
                secret_keys[s["ARN"]] = keys.get(s["KmsKeyId"], s["KmsKeyId"])
        logs = client("logs", creds)
        for g in logs.describe_log_groups().get("logGroups", []):
            arn = g["arn"].removesuffix(":*")
            put([arn, g["arn"]], logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {}))
        ecr = client("ecr", creds)
        for r in ecr.describe_repositories().get("repositories", []):
            put([r["repositoryArn"]], ecr.list_tags_for_resource(resourceArn=r["repositoryArn"]).get("tags", []))
        rds = client("rds", creds)
        for d in rds.describe_db_instances()["DBInstances"]:
            put([d["DBInstanceArn"]], d.get("TagList", []))
        for g in rds.describe_db_parameter_groups()["DBParameterGroups"]:
            put([g["DBParameterGroupArn"]], rds.list_tags_for_resource(ResourceName=g["DBParameterGroupArn"])["TagList"])
        for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
            put([g["DBSubnetGroupArn"]], rds.list_tags_for_resource(ResourceName=g["DBSubnetGroupArn"])["TagList"])
        elb = client("elbv2", creds)
        arns = [x["LoadBalancerArn"] for x in elb.describe_load_balancers()["LoadBalancers"]]
        arns += [x["TargetGroupArn"] for x in elb.describe_target_groups()["TargetGroups"]]
        for lb in elb.describe_load_balancers()["LoadBalancers"]:
            arns += [x["ListenerArn"] for x in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]]
        for i in range(0, len(arns), 20):
            for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
                put([d["ResourceArn"]], d["Tags"])
        eks = client("eks", creds)
        for c in eks.list_clusters()["clusters"]:
            cl = eks.describe_cluster(name=c)["cluster"]
            put([cl["arn"]], cl.get("tags", {}))
            for ng in eks.list_nodegroups(clusterName=c)["nodegroups"]:
                n = eks.describe_nodegroup(clusterName=c, nodegroupName=ng)["nodegroup"]
                put([n["nodegroupArn"]], n.get("tags", {}))
        apigw = client("apigatewayv2", creds)
        for a in apigw.get_apis().get("Items", []):
            put([f"arn:aws:apigateway:{REGION}::/apis/{a['ApiId']}"], a.get("Tags", {}))
        for l in apigw.get_vpc_links().get("Items", []):
            put([f"arn:aws:apigateway:{REGION}::/vpclinks/{l['VpcLinkId']}"], l.get("Tags", {}))
        ssm = client("ssm", creds)
        for p in ssm.describe_parameters().get("Parameters", []):
            arn = f"arn:aws:ssm:{REGION}:{account}:parameter/{p['Name'].lstrip('/')}"
            put([arn], ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"]).get("TagList", []))
        s3 = client("s3", creds)
        for b in s3.list_buckets()["Buckets"]:
            try:
                rules = s3.get_bucket_encryption(Bucket=b["Name"])["ServerSideEncryptionConfiguration"]["Rules"]
            except s3.exceptions.ClientError:
                continue
            k = rules[0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID")
            if k:
                state_keys[b["Name"]] = keys.get(k, k)
    return {"tags": tags, "secrets": secrets, "secret_keys": secret_keys, "keys": keys, "state_keys": state_keys, "ids": ids}


def release(cluster):
    """What deploy.yml's release job asks AWS itself (the registry's own API is
    not moto's: calls.py adds those calls from the job's repositories)."""
    creds = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    client("ecr", creds).get_authorization_token()  # aws ecr get-login-password
    client("eks", creds).describe_cluster(name=cluster)  # aws eks update-kubeconfig
    return {"ok": True}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "release":
        print(json.dumps(release(args[0])))
        return
    if cmd == "oracle":
        print(json.dumps(oracle(args)))
        return
    if cmd == "assume":
        print(json.dumps(assume(*args)))
    elif cmd == "admin":
        print(json.dumps(admin(args[0])))
    elif cmd == "policies":
        print(json.dumps(policies(args)))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
