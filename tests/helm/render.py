#!/usr/bin/env python3
"""Drive the real Helm (the Helm v4 Go SDK, from the helm-python-sdk wheel)
for the Rust tests in tests/helm.rs.

    render.py lint CHART KUBE_VERSION            -> lint report (JSON) on stdout
    render.py render CHART VALUES OUT_DIR [RELEASE NAMESPACE]
                                                 -> one file per template in OUT_DIR (release and
                                                    namespace default to `myhealth`)
    render.py check CHART VALUES                 -> exit 3 and Helm's message when the values are refused
    render.py template TEXT_FILE DATA_JSON       -> TEXT_FILE as a Go template (text/template + sprig,
                                                    what External Secrets' templates are) over DATA_JSON

Exit status: 0 ok, 2 usage, 3 Helm refused (message on stderr).
"""
import json
import os
import sys
import tempfile

import helm_python as helm


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, chart = argv[1], argv[2]
    if cmd == "template":
        return template(argv[2], argv[3])
    if cmd == "lint":
        kube = argv[3]
        print(json.dumps(helm.lint(chart, strict=True, kube_version=f"v{kube}.0")))
        return 0
    values = helm.values_from_yaml(open(argv[3], encoding="utf-8").read())
    release, namespace = (argv[5], argv[6]) if cmd == "render" and len(argv) > 6 else ("myhealth", "myhealth")
    try:
        rendered = helm.Chart.load(chart).render(values, name=release, namespace=namespace, is_install=True)
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


def template(text_file, data_file):
    """Evaluate a template outside any chart: a throwaway chart whose one
    template is the text with the data as its dot."""
    text = open(text_file, encoding="utf-8").read()
    data = json.load(open(data_file, encoding="utf-8"))
    with tempfile.TemporaryDirectory() as chart:
        os.makedirs(os.path.join(chart, "templates"))
        with open(os.path.join(chart, "Chart.yaml"), "w", encoding="utf-8") as f:
            f.write("apiVersion: v2\nname: t\nversion: 0.1.0\n")
        with open(os.path.join(chart, "templates", "t.yaml"), "w", encoding="utf-8") as f:
            f.write("{{- with .Values }}" + text + "{{- end }}")
        try:
            rendered = helm.Chart.load(chart).render(data, name="t", namespace="t", is_install=True)
        except helm.HelmError as e:
            print(str(e), file=sys.stderr)
            return 3
    sys.stdout.write(rendered["t/templates/t.yaml"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
