#!/usr/bin/env python3
"""Parameter overrides for `make deploy KEY1=… KEY2=…`, NUL-separated on stdout.

A guided prompt takes one line and a PEM has several, so key files come from
the command line. SAM then ignores the overrides saved in samconfig.toml, so
this passes the saved ones along too (read with SAM's own parser): the guided
prompts keep offering the saved answers. KEYn=none empties slot n (retiring a
key, docs/deploy.md "Rotating the signing key").

usage: overrides.py SAMCONFIG ENV KEY1 KEY2   (an empty KEYn leaves slot n as saved)
"""

import sys
import tomllib
from pathlib import Path

from samcli.cli.types import CfnParameterOverridesType


def saved(samconfig: Path, env: str) -> dict[str, str]:
    with open(samconfig, "rb") as f:
        config = tomllib.load(f)
    raw = config.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    values = tuple(raw) if isinstance(raw, list) else (raw,) if raw else ()
    return dict(CfnParameterOverridesType().convert(values, None, None)) if values else {}


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    samconfig, env, key1, key2 = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    params = saved(samconfig, env)
    for slot, path in (("1", key1), ("2", key2)):
        if not path:
            continue
        if path == "none":
            params[f"SigningPublicKey{slot}"] = ""
            continue
        pem = Path(path).read_text(encoding="ascii").strip()
        if "-----BEGIN PUBLIC KEY-----" not in pem:
            raise SystemExit(f"KEY{slot}={path}: not a PEM public key (hlsgate keygen writes public.pem)")
        params[f"SigningPublicKey{slot}"] = pem
    for key, value in params.items():
        if "'" in value:
            raise SystemExit(f"parameter {key}: a value with a single quote cannot be passed to SAM")
        sys.stdout.write(f"{key}='{value}'\0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
