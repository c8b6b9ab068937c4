#!/usr/bin/env python3
"""Copies AWS service models from botocore into fixtures/aws-models/.

The Rust SDK checks no lengths, patterns or enum values of a request it
builds; the published service model (the one every AWS SDK is generated
from) does. Tests check each request we send against these copies
(`hlsgate_aws::testing::contract`). Documentation strings are left out;
everything that constrains a request stays.

    python3 infra/tools/aws_models.py mediaconvert dynamodb

Run it from a Python with botocore (`.tools/venv/bin/python` has it, through
the SAM CLI) and commit the result with the botocore version it names.
"""
import gzip
import json
import pathlib
import sys

import botocore

OUT = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "aws-models"


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "documentation"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def main(services):
    data = pathlib.Path(botocore.__file__).parent / "data"
    for service in services:
        (version,) = sorted(p.name for p in (data / service).iterdir() if p.is_dir())[-1:]
        source = data / service / version / "service-2.json.gz"
        model = strip(json.loads(gzip.decompress(source.read_bytes())))
        model["metadata"]["x-botocore-version"] = botocore.__version__
        target = OUT / f"{service}-{version}.json"
        target.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n")
        print(f"{target.relative_to(OUT.parents[1])}: botocore {botocore.__version__}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mediaconvert"])
