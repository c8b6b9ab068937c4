#!/usr/bin/env python3
"""Write the template as deployed for each checked parameter set.

cfn-guard reads plain values, not Fn::If: each file under OUT_DIR is the
expanded template (the JSON sam_transform.py writes) resolved (cfn_eval.py)
for one parameter set of scenarios.py, with only the resources that set
creates.

usage: resolve.py EXPANDED.json OUT_DIR
"""

import json
import re
import sys
from pathlib import Path

from cfn_eval import Stack
from scenarios import SCENARIOS


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        template = json.load(f)
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for name, params in SCENARIOS.items():
        stack = Stack(template, params)
        broken = stack.failed_rules() + stack.pattern_violations()
        if broken:
            raise SystemExit(f"scenario {name!r} breaks the template's own rules: {broken}")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with open(out / f"{slug}.json", "w", encoding="utf-8") as f:
            json.dump(stack.resolved(), f, indent=1, sort_keys=True)
            f.write("\n")
    print(f"resolved {len(SCENARIOS)} parameter sets into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
