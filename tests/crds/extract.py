#!/usr/bin/env python3
"""Vendor the CustomResourceDefinitions the generated platform uses, unchanged,
from the pinned add-on versions' upstream files (copied to ../shared/contracts/crds/,
provenance in its SOURCES.txt). Run from the project root:

    .venv/bin/python tests/crds/extract.py ../shared/contracts/crds

Each output file holds only the CRDs of the kinds myhealthctl renders, with
its upstream repository, tag and path on top. tests/helm.rs validates every
custom resource against these schemas (unknown fields are errors, as the API
server would prune or reject them)."""
import os, sys
import yaml

WANTED = {
    "istio-1.27.3.yaml": ["Gateway", "VirtualService", "DestinationRule", "PeerAuthentication", "AuthorizationPolicy"],
    "external-secrets-0.20.4.yaml": ["SecretStore", "ExternalSecret"],
    "kps-79.5.0-servicemonitors.yaml": ["ServiceMonitor"],
    "kps-79.5.0-prometheusrules.yaml": ["PrometheusRule"],
    "argocd-v3.5.1-application.yaml": ["Application"],
    "argocd-v3.5.1-appproject.yaml": ["AppProject"],
    "aws-lbc-v3.5.0.yaml": ["TargetGroupBinding"],
}

src = sys.argv[1]
sources = {}
for line in open(os.path.join(src, "SOURCES.txt"), encoding="utf-8"):
    if "<-" in line:
        name, rest = line.split("<-", 1)
        sources[name.strip()] = rest.strip()
out_dir = os.path.dirname(os.path.abspath(__file__))
for name, kinds in WANTED.items():
    docs = [d for d in yaml.safe_load_all(open(os.path.join(src, name), encoding="utf-8")) if d]
    keep = [d for d in docs if d.get("kind") == "CustomResourceDefinition" and d["spec"]["names"]["kind"] in kinds]
    assert sorted(d["spec"]["names"]["kind"] for d in keep) == sorted(kinds), (name, kinds)
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        f.write(f"# provenance: {sources[name]}\n")
        f.write(f"# vendored by tests/crds/extract.py: the CRDs of {', '.join(kinds)} only, unchanged\n")
        f.write(yaml.safe_dump_all(keep, sort_keys=False))
    print(name, kinds)
