#!/usr/bin/env python3
"""Drive the real Helm (the Helm v4 Go SDK, from the helm-python-sdk wheel)
for the Rust tests in tests/helm.rs.

    render.py lint CHART KUBE_VERSION            -> lint report (JSON) on stdout
    render.py render CHART VALUES OUT_DIR        -> one file per template in OUT_DIR
    render.py check CHART VALUES                 -> exit 3 and Helm's message when the values are refused

Exit status: 0 ok, 2 usage, 3 Helm refused (message on stderr).
"""
import json
import os
import sys

import helm_python as helm


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, chart = argv[1], argv[2]
    if cmd == "lint":
        kube = argv[3]
        print(json.dumps(helm.lint(chart, strict=True, kube_version=f"v{kube}.0")))
        return 0
    values = helm.values_from_yaml(open(argv[3], encoding="utf-8").read())
    try:
        rendered = helm.Chart.load(chart).render(values, name="myhealth", namespace="myhealth", is_install=True)
    except helm.HelmError as e:
        print(str(e), file=sys.stderr)
        return 3
    if cmd == "render":
        out = argv[4]
        for path, text in sorted(rendered.items()):
            dest = os.path.join(out, path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w", encoding="utf-8") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
