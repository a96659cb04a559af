"""Every AWS call a role made, in IAM's terms (a test tool of tests/moto.rs, never the product).

    calls.py decode RECORDING KEYS ORACLE CATALOG REGISTRY > requests.json

RECORDING  moto's request recorder (one JSON object per request: method, url, headers, body)
KEYS       {"<access key id>": "<role arn>"}: whose session signed a request
ORACLE     {"tags": {"<arn or id>": {"Environment": ...}}, "secrets": {"<name>": "<arn>"},
            "secret_keys": {"<secret arn>": "<kms key arn>"}, "state_keys": {"<bucket>": "<kms key arn>"},
            "keys": {"<alias or id>": "<key arn>"}} — moto's state after the run (bed.py oracle)
CATALOG    catalog.cjs's dump of AWS's Service Authorization Reference
REGISTRY   [{"principal", "push": [<repository arn>], "pull": [<repository arn>]}]: what a release
           job does through the registry's own API, which moto does not serve (taken from the
           generated workflows), authorized as AWS's ECR documentation lists for a push and a pull

Each request is decoded with botocore's own service models (the protocol, the
operation, its parameters), then mapped to what IAM authorizes:

- the action: `<prefix>:<Operation>` as the Service Authorization Reference
  names it, or the documented exception (S3's, API Gateway's HTTP verbs,
  Budgets', the provider's reads);
- one request per resource type the action authorizes (the required ones, and
  an optional one the call names), its ARN filled from the parameters;
- the context: the request's tags (aws:RequestTag, aws:TagKeys), the
  resource's tags (aws:ResourceTag, from the oracle), the principal, and the
  keys an action adds (iam:PermissionsBoundary, iam:PolicyARN, s3:prefix,
  route53:ChangeResourceRecordSetsNormalizedRecordNames);
- and the calls AWS makes on the caller's behalf, which a recorder cannot see
  but IAM authorizes as the caller's (documented by AWS): KMS under S3's
  SSE-KMS and Secrets Manager (kms:ViaService, the encryption context),
  ec2:CreateTags of a create's tags (ec2:CreateAction), iam:PassRole of a role
  handed to a service (iam:PassedToService).

A call this cannot map is reported as an error: the test fails rather than
judging less than was done.
"""

import base64
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.session

# Services the generated Terraform and myhealthctl talk to, by botocore name.
SERVICES = [
    "acm", "apigatewayv2", "autoscaling", "budgets", "cloudfront", "ec2", "ecr", "eks", "elbv2", "iam", "kms",
    "logs", "rds", "route53", "s3", "secretsmanager", "ssm", "sts",
]

# botocore service → IAM service prefix.
PREFIX = {"apigatewayv2": "apigateway", "elbv2": "elasticloadbalancing"}

# Operations whose IAM action is not `<prefix>:<Operation>` (AWS's
# Service Authorization Reference, "Actions" of each service).
S3_ACTIONS = {
    "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadObject": "GetObject", "HeadBucket": "ListBucket",
    "GetBucketEncryption": "GetEncryptionConfiguration", "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration", "GetBucketCors": "GetBucketCORS",
    "GetBucketReplication": "GetReplicationConfiguration", "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "CreateBucket": "CreateBucket", "DeleteObjects": "DeleteObject",
}
BUDGETS_ACTIONS = {
    "CreateBudget": "ModifyBudget", "UpdateBudget": "ModifyBudget", "DeleteBudget": "ModifyBudget",
    "CreateNotification": "ModifyBudget", "CreateSubscriber": "ModifyBudget", "DescribeBudget": "ViewBudget",
    "DescribeNotificationsForBudget": "ViewBudget", "DescribeSubscribersForNotification": "ViewBudget",
}
# Calls anyone may make: IAM does not authorize them.
UNAUTHORIZED = {("sts", "GetCallerIdentity"), ("sts", "AssumeRoleWithWebIdentity")}
# Calls whose refusal the caller expects and recovers from: judged, and
# allowed to be denied.
TOLERATED = {
    ("iam", "GetUser"): "the AWS provider's first guess at the account id (aws-sdk-go-base): a role is no user, so AWS "
    "refuses it for any role; the provider then asks sts:GetCallerIdentity",
}

SESSION = botocore.session.get_session()


class Models:
    def __init__(self):
        self.by_target, self.query, self.rest = {}, {}, []
        for name in SERVICES:
            m = SESSION.get_service_model(name)
            proto, meta = m.protocol, m.metadata
            signing = meta.get("signingName", meta["endpointPrefix"])
            if proto == "json":
                self.by_target[meta["targetPrefix"]] = name
            elif proto in ("query", "ec2"):
                self.query[(signing, meta["apiVersion"])] = name
            for op in m.operation_names:
                o = m.operation_model(op)
                if proto.startswith("rest"):
                    uri = o.http["requestUri"]
                    path, _, q = uri.partition("?")
                    rx = "^" + re.sub(r"\\{([A-Za-z0-9_]+)(\\\+)?\\}", lambda mm: f"(?P<{mm.group(1)}>{'.+' if mm.group(2) else '[^/]+'})", re.escape(path).replace("/", "\\/")) + "/?$"
                    required_q = [kv.split("=")[0] for kv in q.split("&") if kv]
                    required_h = []
                    if o.input_shape is not None:
                        for member in o.input_shape.required_members:
                            sh = o.input_shape.members[member].serialization
                            if sh.get("location") == "querystring":
                                required_q.append(sh["name"])
                            elif sh.get("location") == "header":
                                required_h.append(sh["name"].lower())
                    self.rest.append(
                        (signing, name, op, o.http["method"], re.compile(rx), required_q, path.count("{"), required_h)
                    )
        # Most specific first: more literal text, more required query keys.
        self.rest.sort(key=lambda r: (-len(r[5]) - len(r[7]), r[6], -len(r[4].pattern)))

    def operation(self, signing, method, url, headers, body):
        if "x-amz-target" in headers:
            prefix, _, op = headers["x-amz-target"].rpartition(".")
            return self.by_target[prefix], op, json.loads(body or "{}")
        if method == "POST" and "Action=" in body:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
            name = self.query.get((signing, form.get("Version")))
            if name is None:
                name = next(n for (s, _), n in self.query.items() if s == signing)
            return name, form["Action"], form
        u = urllib.parse.urlparse(url)
        path = urllib.parse.unquote(u.path)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        for sg, name, op, m, rx, req_q, _, req_h in self.rest:
            if sg != signing or m != method:
                continue
            hit = rx.match(path)
            if hit and all(k in query for k in req_q) and all(k in headers for k in req_h):
                params = {k: v for k, v in hit.groupdict().items()}
                params.update({k: v[0] for k, v in query.items()})
                if body and body.lstrip().startswith("{"):
                    params.update(json.loads(body))
                elif body and body.lstrip().startswith("<"):
                    params["_xml"] = body
                return name, op, params
        raise LookupError(f"no {signing} operation for {method} {path}")


def flat_tags(service, params):
    """The tags a request sets on what it creates (aws:RequestTag)."""
    tags = {}
    if service in ("ec2",):
        for k, v in params.items():
            m = re.match(r"TagSpecification\.(\d+)\.Tag\.(\d+)\.Key$", k)
            if m:
                tags[v] = params.get(f"TagSpecification.{m.group(1)}.Tag.{m.group(2)}.Value", "")
            m = re.match(r"Tag\.(\d+)\.Key$", k)
            if m:
                tags[v] = params.get(f"Tag.{m.group(1)}.Value", "")
    elif service in ("iam", "elbv2", "rds"):
        for k, v in params.items():
            m = re.match(r"Tags\.(?:member|Tag)\.(\d+)\.Key$", k)
            if m:
                tags[v] = params.get(re.sub(r"Key$", "Value", k), "")
    else:
        for key in ("Tags", "tags", "TagList"):
            t = params.get(key)
            if isinstance(t, dict):
                tags.update(t)
            elif isinstance(t, list):
                for x in t:
                    if isinstance(x, dict):
                        k = x.get("Key", x.get("key", x.get("TagKey")))
                        tags[k] = x.get("Value", x.get("value", x.get("TagValue", "")))
    return tags


def catalog_action(cat, prefix, action):
    svc = cat["services"].get(prefix)
    if not svc:
        return None
    for name, a in svc["actions"].items():
        if name.lower() == action.lower():
            return name, a
    return None


ID_PARAMS = {
    # ARN variable → parameter names that carry it (case-insensitive), in order.
    "VpcId": ["VpcId"], "SecurityGroupId": ["GroupId"], "SubnetId": ["SubnetId"], "RouteTableId": ["RouteTableId"],
    "InternetGatewayId": ["InternetGatewayId"], "AllocationId": ["AllocationId"], "NatGatewayId": ["NatGatewayId"],
    "VpcEndpointId": ["VpcEndpointId", "VpcEndpointId.1"], "LaunchTemplateId": ["LaunchTemplateId"],
    "RoleNameWithPath": ["RoleName"], "OidcProviderName": ["OpenIDConnectProviderArn"],
    "RepositoryName": ["repositoryName"], "LogGroupName": ["logGroupName"], "ClusterName": ["name", "clusterName"],
    "NodegroupName": ["nodegroupName"], "BucketName": ["Bucket"], "ObjectName": ["Key"], "DbInstanceIdentifier": ["DBInstanceIdentifier"],
    "SubnetGroupName": ["DBSubnetGroupName"], "ParameterGroupName": ["DBParameterGroupName"], "ApiId": ["apiId", "ApiId"],
    "VpcLinkId": ["vpcLinkId", "VpcLinkId"], "Alias": ["AliasName"], "BudgetName": ["BudgetName"],
    "FlowLogId": ["FlowLogId"], "VpcFlowLogId": ["FlowLogId"], "SecurityGroupRuleId": ["SecurityGroupRuleId"],
}


def fill_arn(pattern, params, region, account, oracle, prefix):
    def value(var):
        if var == "Partition":
            return "aws"
        if var == "Region":
            return region
        if var == "Account":
            return account
        for p in ID_PARAMS.get(var, [var]):
            for k, v in params.items():
                if k.lower() == p.lower() and isinstance(v, str) and v:
                    if var == "RoleNameWithPath" and v.startswith("arn:"):
                        return v.split(":role/")[1]
                    if var == "ParameterNameWithoutLeadingSlash":
                        return v.lstrip("/")
                    if var == "Alias":
                        return v.removeprefix("alias/")
                    return v
        if var == "ParameterNameWithoutLeadingSlash":
            n = params.get("Name") or params.get("ResourceId")
            return n.lstrip("/") if n else None
        return None

    missing = []

    def sub(m):
        v = value(m.group(1))
        if v is None:
            missing.append(m.group(1))
            return "*"
        return v

    arn = re.sub(r"\$\{([A-Za-z0-9]+)\}", sub, pattern)
    return arn, missing


def arn_param(params):
    """An ARN a call names directly (elbv2's LoadBalancerArn, a ResourceArn, a KeyId or SecretId given as ARN)."""
    for k in ("ResourceArn", "resourceArn", "resourceARN", "LoadBalancerArn", "TargetGroupArn", "ListenerArn",
              "ResourceArns.member.1", "KeyId", "TargetKeyId", "SecretId", "CertificateArn", "OpenIDConnectProviderArn",
              "PolicyArn"):
        v = params.get(k)
        if isinstance(v, str) and v.startswith("arn:"):
            return v
    return None


def resolve_names(prefix, params, oracle, account):
    """Names a call uses that IAM sees as ARNs: secrets by name, keys by alias or id,
    what an EC2 association id stands for; a list parameter's first item (`X.1`) as `X`."""
    p = dict(params)
    for k, v in params.items():
        if k.endswith(".1") and isinstance(v, str):
            p.setdefault(k[:-2], v)
    if prefix == "ec2" and p.get("AssociationId") in oracle.get("ids", {}):
        for k, v in oracle["ids"][p["AssociationId"]].items():
            p.setdefault(k, v)
    if prefix == "kms" and p.get("AliasName") and "TargetKeyId" not in p and "KeyId" not in p:
        key = oracle["keys"].get(f"{account}/{p['AliasName']}")
        if key:
            p["KeyId"] = key
    if prefix == "secretsmanager":
        sid = p.get("SecretId") or p.get("Name")
        if sid and not sid.startswith("arn:") and f"{account}/{sid}" in oracle["secrets"]:
            p["SecretId"] = oracle["secrets"][f"{account}/{sid}"]
    if prefix == "kms":
        for k in ("KeyId", "TargetKeyId"):
            kid = p.get(k)
            if kid and kid in oracle["keys"]:
                p[k] = oracle["keys"][kid]
            elif kid and f"{account}/{kid}" in oracle["keys"]:
                p[k] = oracle["keys"][f"{account}/{kid}"]
    return p


def matches(pattern, arn):
    rx = "^" + re.escape(re.sub(r"\$\{[A-Za-z0-9]+\}", "\x00", pattern)).replace("\x00", "[^:]*") + "$"
    # Resource ids after the type may hold '/' (S3 keys, log groups, parameters).
    rx = rx.replace("[^:]*$", ".*$")
    return re.match(rx, arn) is not None


def to_iam(call, cat, oracle):
    """The IAM requests of one decoded call (a list; several per resource type and implied call)."""
    service, op, params = call["service"], call["operation"], call["params"]
    region, account, principal = call["region"], call["account"], call["principal"]
    if (service, op) in UNAUTHORIZED:
        return []
    prefix = PREFIX.get(service, service)
    action = op
    if service == "s3":
        action = S3_ACTIONS.get(op, op)
    elif service == "budgets":
        action = BUDGETS_ACTIONS.get(op, op)
    elif service == "apigatewayv2":
        action = call["method"]
    params = resolve_names(prefix, params, oracle, account)
    found = catalog_action(cat, prefix, action)
    if not found:
        return [{"error": f"`{prefix}:{action}` (from {service} {op}) is not in AWS's Service Authorization Reference"}]
    action, spec = found
    out = []
    base_ctx = {
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": region,
    }
    tags = flat_tags(service, params)
    req_ctx = {}
    if tags:
        req_ctx.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
        req_ctx["aws:TagKeys"] = sorted(tags)
    if service == "iam" and op in ("CreateRole", "PutRolePermissionsBoundary") and params.get("PermissionsBoundary"):
        req_ctx["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    if service == "iam" and op in ("AttachRolePolicy", "DetachRolePolicy"):
        req_ctx["iam:PolicyARN"] = params["PolicyArn"]
    if service == "ec2" and op in ("DeleteTags",):
        keys = [v for k, v in params.items() if re.match(r"Tag\.\d+\.Key$", k)]
        req_ctx["aws:TagKeys"] = keys
    if service == "s3" and action == "ListBucket":
        req_ctx["s3:prefix"] = params.get("prefix", "")
    if service == "route53" and op == "ChangeResourceRecordSets":
        names = [n.text.rstrip(".").lower() for n in ET.fromstring(params["_xml"]).iter() if n.tag.endswith("Name")]
        req_ctx["route53:ChangeResourceRecordSetsNormalizedRecordNames"] = names

    direct = arn_param(params)
    types = spec["resources"]
    resources = []
    if service == "apigatewayv2":
        # API Gateway authorizes the HTTP verb on the resource's path
        # (arn:aws:apigateway:<region>::/apis/<id>/…, AWS's "Control access to
        # the API Gateway management API").
        path = urllib.parse.unquote(urllib.parse.urlparse(call["url"]).path).removeprefix("/v2")
        resources = [(f"arn:aws:apigateway:{region}::{path}", "path")]
    elif service == "ssm" and params.get("ResourceType"):
        # Tags of an SSM resource: the type is named, the id is ResourceId.
        rtype = params["ResourceType"].lower()
        pattern = cat["services"]["ssm"]["resources"][rtype]
        rid = params["ResourceId"].lstrip("/") if rtype == "parameter" else params["ResourceId"]
        arn = re.sub(r"\$\{(?!Partition|Region|Account)[A-Za-z0-9]+\}", rid, pattern)
        arn = arn.replace("${Partition}", "aws").replace("${Region}", region).replace("${Account}", account)
        resources = [(arn, rtype)]
    elif spec["wildcard"] or not types:
        resources = [("*", None)]
    else:
        for rt in types:
            pattern = cat["services"][prefix]["resources"][rt["name"]]
            if direct and matches(pattern, direct):
                resources.append((direct, rt["name"]))
                continue
            arn, missing = fill_arn(pattern, params, region, account, oracle, prefix)
            named = not missing or (missing and len(missing) < pattern.count("${") - 3)
            if rt["required"] or (not missing and rt["name"] not in ("ipam-pool",)):
                # A required type whose id the call does not name is the one it creates.
                resources.append((arn, rt["name"]))
            del named
        if not resources:
            resources = [("*", None)]
    for arn, _ in resources:
        out.append({"action": f"{prefix}:{action}", "resource": arn, "context": {**base_ctx, **req_ctx}, "origin": f"{service} {op}"})
    out.extend(implied(call, params, tags, oracle, base_ctx))
    for r in out:
        # The tags of the resource acted on (a resource being created has none yet).
        tag_of = resource_tags(r["resource"], oracle)
        if tag_of and "*" not in r["resource"]:
            r["context"].update({f"aws:ResourceTag/{k}": v for k, v in tag_of.items()})
    return out


def resource_tags(arn, oracle):
    t = oracle["tags"]
    if arn in t:
        return t[arn]
    # EC2 and others by id (the last path element), API Gateway by its API.
    tail = arn.rsplit("/", 1)[-1]
    if tail in t:
        return t[tail]
    m = re.match(r"(arn:aws:apigateway:[^:]*::/(?:apis|vpclinks)/[^/]+)", arn)
    if m and m.group(1) in t:
        return t[m.group(1)]
    return {}


def implied(call, params, tags, oracle, base_ctx):
    """What AWS authorizes as the caller when a call makes it act on the caller's behalf."""
    service, op, region, account = call["service"], call["operation"], call["region"], call["account"]
    out = []
    kms_via = lambda svc: {**base_ctx, "kms:ViaService": f"{svc}.{region}.amazonaws.com", "kms:CallerAccount": account}
    # S3 SSE-KMS (the state bucket: bucket key, so the context is the bucket's ARN).
    if service == "s3" and op in ("GetObject", "PutObject") and params.get("Bucket") in oracle["state_keys"]:
        key = oracle["state_keys"][params["Bucket"]]
        ctx = {**kms_via("s3"), "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{params['Bucket']}"}
        action = "kms:Decrypt" if op == "GetObject" else "kms:GenerateDataKey"
        out.append({"action": action, "resource": key, "context": ctx, "origin": f"{service} {op} (SSE-KMS)"})
    # Secrets Manager envelope encryption with the secret's key.
    if service == "secretsmanager" and op in ("PutSecretValue", "GetSecretValue", "CreateSecret"):
        sid = params.get("SecretId") or params.get("Name")
        arn = sid if sid and sid.startswith("arn:") else oracle["secrets"].get(f"{account}/{sid}")
        key = oracle["secret_keys"].get(arn)
        if key and (op != "CreateSecret" or "SecretString" in params or "SecretBinary" in params):
            ctx = {**kms_via("secretsmanager"), "kms:EncryptionContext:SecretARN": arn}
            action = "kms:Decrypt" if op == "GetSecretValue" else "kms:GenerateDataKey"
            out.append({"action": action, "resource": key, "context": ctx, "origin": f"{service} {op} (envelope)"})
    # EC2: tags given at creation are authorized as ec2:CreateTags.
    if service == "ec2" and tags and op != "CreateTags":
        ctx = {**base_ctx, "ec2:CreateAction": op, **{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}
        out.append({"action": "ec2:CreateTags", "resource": f"arn:aws:ec2:{region}:{account}:*/*", "context": ctx, "origin": f"{service} {op} (tags on create)"})
    # Roles handed to a service.
    passed = {
        ("eks", "CreateCluster"): ("roleArn", "eks.amazonaws.com"),
        ("eks", "CreateNodegroup"): ("nodeRole", "eks.amazonaws.com"),
        ("ec2", "CreateFlowLogs"): ("DeliverLogsPermissionArn", "vpc-flow-logs.amazonaws.com"),
        ("rds", "CreateDBInstance"): ("MonitoringRoleArn", "monitoring.rds.amazonaws.com"),
        ("rds", "ModifyDBInstance"): ("MonitoringRoleArn", "monitoring.rds.amazonaws.com"),
    }.get((service, op))
    if passed and params.get(passed[0]):
        ctx = {**base_ctx, "iam:PassedToService": passed[1]}
        out.append({"action": "iam:PassRole", "resource": params[passed[0]], "context": ctx, "origin": f"{service} {op} (passes a role)"})
    # Keys a service is given to encrypt with: it takes a grant as the caller.
    grant = {
        ("rds", "CreateDBInstance"): ("KmsKeyId", "rds"),
        ("eks", "CreateCluster"): (None, "eks"),
    }.get((service, op))
    if grant:
        key = params.get(grant[0]) if grant[0] else None
        if service == "eks":
            for ec in params.get("encryptionConfig", []):
                key = ec.get("provider", {}).get("keyArn")
        if key:
            key = oracle["keys"].get(key) or oracle["keys"].get(f"{account}/{key}", key)
            for action in ("kms:CreateGrant", "kms:DescribeKey"):
                out.append({"action": action, "resource": key, "context": kms_via(grant[1]), "origin": f"{service} {op} (encrypts with a key)"})
    return out


# AWS ECR, "Private repository policies" / "Pushing an image": what a push
# and a pull through the registry API are authorized as.
PUSH = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
        "ecr:PutImage", "ecr:BatchGetImage"]
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def registry_requests(registry):
    out = []
    for n, job in enumerate(registry):
        for kind, actions in (("push", PUSH), ("pull", PULL)):
            for repo in job[kind]:
                for a in actions:
                    out.append({"id": f"registry.{n}.{len(out)}", "principal": job["principal"],
                                "account": job["principal"].split(":")[4], "action": a, "resource": repo,
                                "context": {"aws:PrincipalArn": job["principal"], "aws:PrincipalAccount": job["principal"].split(":")[4],
                                            "aws:SecureTransport": "true"},
                                "origin": f"registry {kind} (the release job)"})
    return out


def decode(recording, keys, oracle, cat):
    models = Models()
    requests, errors = [], []
    for n, line in enumerate(open(recording)):
        e = json.loads(line)
        h = {k.lower(): v for k, v in e["headers"].items()}
        m = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", h.get("authorization", ""))
        if not m or m.group(1) not in keys:
            continue  # an administrator's setup, or an unsigned call
        akid, region, signing = m.groups()
        principal = keys[akid]
        body = e.get("body") or ""
        if e.get("body_encoded"):
            raw = base64.b64decode(body)
            body = raw.decode("utf-8", "replace")
        try:
            service, op, params = models.operation(signing, e["method"], e["url"], h, body)
        except (LookupError, StopIteration, ValueError) as ex:
            errors.append(f"request {n}: {ex}")
            continue
        call = {"service": service, "operation": op, "params": params, "method": e["method"], "url": e["url"], "region": region,
                "account": principal.split(":")[4], "principal": principal}
        for i, r in enumerate(to_iam(call, cat, oracle)):
            if "error" in r:
                errors.append(f"request {n}: {r['error']}")
                continue
            r.update(id=f"{n}.{i}", principal=principal, account=principal.split(":")[4])
            if (service, op) in TOLERATED:
                r["tolerated"] = TOLERATED[(service, op)]
            requests.append(r)
    return {"requests": requests, "errors": errors}


def main():
    cmd = sys.argv[1]
    if cmd == "decode":
        recording, keys, oracle, cat, registry = sys.argv[2:7]
        out = decode(recording, json.load(open(keys)), json.load(open(oracle)), json.load(open(cat)))
        out["requests"].extend(registry_requests(json.load(open(registry))))
        print(json.dumps(out))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
