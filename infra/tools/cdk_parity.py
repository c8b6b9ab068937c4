#!/usr/bin/env python3
"""The CDK construct's templates next to the SAM template's, resource by resource.

`synth.js` (infra/cdk/bin/synth.ts) writes one CDK template per parameter set
and, for each, the name the construct gave every logical id CDK generated.
Here each template gets those names back (the construct names its resources
as the SAM template does), is resolved by the same evaluator (cfn_eval.py)
as the SAM template for the same parameters, and the two are compared:
the same resources of the same types, and every property, policy, output and
scanner skip equal, but for what only one of the two tools writes (the code
location, SAM's tag, CDK's asset metadata).

usage: cdk_parity.py sets OUT.json             (what synth.js synthesizes)
       cdk_parity.py resolve SYNTH_DIR OUT_DIR   (each CDK template renamed
                                                  and resolved, for cfn-guard)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from cfn_eval import Stack
from scenarios import REFUSED, REFUSED_BY_PATTERN, SCENARIOS

# What each tool writes and the other does not; nothing a deploy would differ on.
ONLY_ONE_SIDE = {
    # the code: a placeholder S3 key (SAM) or the asset CDK stages
    ("AWS::Lambda::Function", "Code"),
    # SAM tags its functions lambda:createdBy=SAM
    ("AWS::Lambda::Function", "Tags"),
}
# Metadata both must carry alike (the scanners read it); the rest is each
# tool's own (SAM's BuildMethod, CDK's aws:cdk:path and asset keys).
SHARED_METADATA = ("checkov", "guard", "cfn-lint")


def renamed(template: dict, names: dict[str, str]) -> dict:
    """`template` with every generated logical id replaced by its name."""
    text = json.dumps(template)
    for generated in sorted(names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(generated)}\b", names[generated], text)
    return json.loads(text)


def _plain(node: Any) -> Any:
    """Values as CloudFormation reads them: "512" and 512 are one value, and
    an empty object is no object (SAM writes DestinationConfig: {})."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if v != {}}
    if isinstance(node, list):
        return [_plain(x) for x in node]
    if isinstance(node, str) and re.fullmatch(r"-?[0-9]+", node):
        return int(node)
    return node


def comparable(stack: Stack) -> dict:
    """Resources (without each tool's own keys) and outputs, resolved."""
    out: dict[str, Any] = {}
    for name, res in stack.resolved()["Resources"].items():
        props = {k: v for k, v in res["Properties"].items() if (res["Type"], k) not in ONLY_ONE_SIDE}
        meta = {k: v for k, v in res.get("Metadata", {}).items() if k in SHARED_METADATA}
        if res["Type"] == "AWS::Lambda::EventInvokeConfig":
            meta = {}  # SAM copies its function's onto it; no check reads them there
        depends = res.get("DependsOn", [])
        out[name] = _plain({
            "Type": res["Type"],
            "Properties": props,
            "Metadata": meta,
            "DependsOn": sorted([depends] if isinstance(depends, str) else depends),
            "DeletionPolicy": res.get("DeletionPolicy"),
            "UpdateReplacePolicy": res.get("UpdateReplacePolicy"),
        })
    for name, o in stack.t.get("Outputs", {}).items():
        if "Condition" in o and not stack.condition(o["Condition"]):
            continue
        out[f"Outputs.{name}"] = _plain({"Description": o.get("Description"), "Value": str(stack.eval(o["Value"]))})
    return out


def differences(sam: dict, cdk: dict, path: str = "") -> list[str]:
    """Where two comparable trees differ, one line each."""
    if isinstance(sam, dict) and isinstance(cdk, dict):
        lines = []
        for k in sorted(set(sam) | set(cdk)):
            where = f"{path}.{k}" if path else k
            if k not in cdk:
                lines.append(f"{where}: only in SAM")
            elif k not in sam:
                lines.append(f"{where}: only in CDK")
            else:
                lines += differences(sam[k], cdk[k], where)
        return lines
    if isinstance(sam, list) and isinstance(cdk, list) and len(sam) == len(cdk):
        return [line for i, (a, b) in enumerate(zip(sam, cdk)) for line in differences(a, b, f"{path}[{i}]")]
    if sam != cdk:
        return [f"{path}: SAM {json.dumps(sam)[:300]} / CDK {json.dumps(cdk)[:300]}"]
    return []


def cdk_stack(entry: dict) -> Stack:
    """The CDK template of one synth.js result entry, renamed, as a Stack."""
    template = json.loads(Path(entry["template"]).read_text())
    return Stack(renamed(template, entry["names"]), {})


def parameter_sets() -> dict[str, dict[str, str]]:
    """Every set the tests synthesize: the scenarios, then the refused ones
    (named "refused: WORDS" or "pattern: PARAMETER")."""
    sets = dict(SCENARIOS)
    sets.update({f"refused: {why}": params for params, why in REFUSED})
    sets.update({f"pattern: {name}": params for params, name in REFUSED_BY_PATTERN})
    return sets


def resolve(synth: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    result = json.loads((synth / "result.json").read_text())
    done = 0
    for name, entry in result.items():
        if name not in SCENARIOS:
            continue
        if "template" not in entry:
            raise SystemExit(f"cdk_parity: {name!r} did not synthesize: {entry}")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with open(out / f"{slug}.json", "w", encoding="utf-8") as f:
            json.dump(cdk_stack(entry).resolved(), f, indent=1, sort_keys=True)
            f.write("\n")
        done += 1
    print(f"resolved {done} CDK templates into {out}")
    return 0


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["sets"] and len(args) == 2:
        Path(args[1]).write_text(json.dumps(parameter_sets(), indent=1) + "\n")
        return 0
    if args[:1] == ["resolve"] and len(args) == 3:
        return resolve(Path(args[1]), Path(args[2]))
    print(__doc__.strip().split("usage: ")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
