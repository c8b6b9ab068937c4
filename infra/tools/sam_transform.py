#!/usr/bin/env python3
"""Expand infra/template.yaml into the plain CloudFormation that SAM deploys.

cfn-guard and the checks in infra/tools/check_template.py read this output, so
the rules judge what is deployed (the AWS::Lambda::Function, the API stage, the
permissions SAM writes), not SAM's shorthand. Runs offline: the template names
no managed policies, so the IAM policy list is never fetched; if one is ever
added, this fails loudly instead of guessing. Local code paths (CodeUri: ..)
become placeholder S3 locations, as `sam package` would make them.

usage: sam_transform.py TEMPLATE OUT.json
"""

import json
import logging
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        raise SystemExit(
            "sam_transform: the template names an AWS managed policy by name; "
            "use its ARN (or an inline policy) so the transform stays offline"
        )


def expand(source: str) -> dict:
    """The plain CloudFormation for the SAM template at `source`."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = f"s3://placeholder/{name}.zip"
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    logging.disable(logging.WARNING)  # the translator's feature-toggle chatter
    return transform(template, {}, NoManagedPolicies())


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    source, out = sys.argv[1], sys.argv[2]
    expanded = expand(source)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(expanded, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
