"""The CDK construct (infra/cdk) at parity with infra/template.yaml.

`make validate` synthesizes the construct offline for every parameter set of
infra/tools/scenarios.py (infra/cdk/bin/synth.ts) into HLSGATE_CDK_SYNTH
(default target/infra/cdk); these tests read what it wrote:

- each scenario synthesizes with no cdk-nag (AwsSolutions) finding left
  unacknowledged;
- its template, given back the names the construct gave its resources and
  resolved like the SAM template, has the same resources of the same types,
  the same properties (CloudFront behaviours, policies and OAC; IAM actions
  on the same resources; function environments), the same scanner skips and
  the same outputs as SAM's for the same parameters;
- each set the template refuses, the construct refuses in the same words;
- checkov (make validate scans both) judges each CDK template, as
  synthesized and as resolved, check by check as it judges SAM's;
- its table of parameters is the template's, and docs/deploy-cdk.md lists
  each with its prop;
- the standalone app (bin/app.ts) synthesizes from a parameters file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "tools"))

from cdk_parity import cdk_stack, comparable, differences  # noqa: E402
from cfn_eval import Stack  # noqa: E402
from sam_transform import expand  # noqa: E402
from scenarios import BASE, REFUSED, REFUSED_BY_PATTERN, SCENARIOS  # noqa: E402

SYNTH = Path(os.environ.get("HLSGATE_CDK_SYNTH", ROOT / "target" / "infra" / "cdk"))
CHECKOV = Path(os.environ.get("HLSGATE_CHECKOV_REPORT", ROOT / "target" / "infra" / "checkov.json"))
CDK = ROOT / "infra" / "cdk"
TEMPLATE = expand(str(ROOT / "infra" / "template.yaml"))
KEY = ROOT / "fixtures" / "conformance" / "keys" / "test-ecdsa-p256-public.pem"


def load_result() -> dict:
    result = SYNTH / "result.json"
    if not result.exists():
        raise unittest.SkipTest(f"{result} is missing: `make validate` synthesizes the CDK app first")
    return json.loads(result.read_text())


class Parity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.result = load_result()

    def test_every_scenario_synthesizes_with_cdk_nag_clean(self):
        for name in SCENARIOS:
            with self.subTest(name):
                entry = self.result[name]
                self.assertEqual(entry.get("problems"), None)
                self.assertEqual(entry["findings"], [])
                self.assertIn("template", entry)

    def test_each_scenario_deploys_what_the_sam_template_deploys(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                sam = comparable(Stack(TEMPLATE, params))
                cdk = comparable(cdk_stack(self.result[name]))
                self.assertEqual(differences(sam, cdk), [])
                self.assertGreater(len(sam), 60)

    def test_the_comparison_sees_a_change_on_one_side(self):
        # The check above would pass on two empty trees; it must not pass
        # on a real difference.
        name = next(iter(SCENARIOS))
        sam = comparable(Stack(TEMPLATE, SCENARIOS[name]))
        cdk = comparable(cdk_stack(self.result[name]))
        role = cdk["UploadRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        role[1]["Action"].append("s3:GetObject")
        cdk["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"][1].pop("TrustedKeyGroups")
        cdk["JobsFunction"]["Properties"]["Environment"]["Variables"]["ENCRYPTION"] = "none"
        found = "\n".join(differences(sam, cdk))
        for where in ("UploadRole.", "CacheBehaviors[1].TrustedKeyGroups", "Variables.ENCRYPTION"):
            self.assertIn(where, found)

    def test_the_sets_the_template_refuses_are_refused_in_its_words(self):
        for params, why in REFUSED:
            with self.subTest(why):
                sam = Stack(TEMPLATE, params)
                self.assertEqual(self.result[f"refused: {why}"].get("problems"), sam.failed_rules())
        for params, name in REFUSED_BY_PATTERN:
            with self.subTest(name):
                sam = Stack(TEMPLATE, params)
                patterns = [f"{n} does not match what the template allows." for n in sam.pattern_violations()]
                self.assertEqual(
                    self.result[f"pattern: {name}"].get("problems"), patterns + sam.failed_rules()
                )

    def test_checkov_judges_each_cdk_template_as_it_judges_sams(self):
        if not CHECKOV.exists():
            self.skipTest(f"{CHECKOV} is missing: `make validate` runs checkov first")
        reports = json.loads(CHECKOV.read_text())
        verdicts: dict[str, set] = {}
        for report in reports if isinstance(reports, list) else [reports]:
            for kind in ("passed_checks", "failed_checks", "skipped_checks"):
                for c in report["results"].get(kind, []):
                    verdicts.setdefault(c["file_path"], set()).add((c["check_id"], c["resource"], kind))
        for name in SCENARIOS:
            with self.subTest(name):
                slug = Path(self.result[name]["template"]).name
                names = self.result[name]["names"]
                sam = verdicts[f"/target/infra/resolved/{slug}"]
                resolved = verdicts[f"/target/infra/cdk/resolved/{slug}"]
                raw = {
                    (check, f"{r.split('.')[0]}.{names.get(r.split('.', 1)[1], r)}", kind)
                    for check, r, kind in verdicts[f"/target/infra/cdk/templates/{slug}"]
                }
                self.assertGreater(len(sam), 100)
                self.assertEqual(resolved, sam)
                self.assertEqual(raw, sam)

    def test_the_parameter_table_is_the_templates(self):
        table = json.loads((SYNTH / "parameters.json").read_text())
        source = TEMPLATE["Parameters"]
        self.assertEqual(list(table), list(source))
        for name, spec in source.items():
            with self.subTest(name):
                want = {
                    "default": str(spec["Default"]) if "Default" in spec else None,
                    "pattern": spec.get("AllowedPattern"),
                    "values": [str(v) for v in spec["AllowedValues"]] if "AllowedValues" in spec else None,
                    "min": spec.get("MinValue"),
                    "max": spec.get("MaxValue"),
                    "maxLength": spec.get("MaxLength"),
                    "list": True if spec["Type"] == "CommaDelimitedList" else None,
                }
                got = {k: table[name].get(k) for k in want}
                self.assertEqual(got, want)


class Docs(unittest.TestCase):
    def test_the_props_table_of_deploy_cdk_md_is_the_constructs(self):
        table = json.loads((load_result() and SYNTH / "parameters.json").read_text())
        types = {"string": "string", "list": "string[]", "bool": "boolean", "number": "number"}
        want = [(spec["prop"], name, types[spec["kind"]]) for name, spec in table.items()]
        doc = (ROOT / "docs" / "deploy-cdk.md").read_text()
        rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `([\w\[\]]+)` \|$", doc, re.M)
        self.assertEqual(rows, want)


class Embedding(unittest.TestCase):
    """What an app that embeds the construct is told when it misuses it."""

    def node(self, script: str) -> subprocess.CompletedProcess:
        if not (CDK / "dist" / "lib" / "index.js").exists() or shutil.which("node") is None:
            self.skipTest("infra/cdk/dist is missing: `make validate` builds the CDK construct first")
        prelude = (
            "const { App, Stack } = require('aws-cdk-lib');"
            "const { HlsGate, fromParameters } = require('./dist/lib');"
            f"const props = fromParameters({json.dumps(BASE)});"
            "const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });"
        )
        return subprocess.run(["node", "-e", prelude + script], cwd=CDK, capture_output=True, text=True, timeout=120)

    def test_two_in_one_stack_are_refused_since_names_come_from_the_stack(self):
        p = self.node("const s = new Stack(app, 'video'); new HlsGate(s, 'A', props); new HlsGate(s, 'B', props);")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("one per stack", p.stderr)

    def test_a_stack_name_too_long_for_the_function_names_is_refused(self):
        p = self.node(f"new HlsGate(new Stack(app, '{'v' * 47}'), 'A', props);")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("longer than 46 characters", p.stderr)
        p = self.node(f"new HlsGate(new Stack(app, '{'v' * 46}'), 'A', props); app.synth();")
        self.assertEqual(p.returncode, 0, p.stderr)


class StandaloneApp(unittest.TestCase):
    """bin/app.ts, as `npx cdk deploy -c params=FILE` runs it."""

    def run_app(self, context: dict) -> subprocess.CompletedProcess:
        app = CDK / "dist" / "bin" / "app.js"
        if not app.exists() or shutil.which("node") is None:
            self.skipTest(f"{app} is missing: `make validate` builds the CDK app first")
        out = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.out = out
        env = dict(
            os.environ,
            CDK_OUTDIR=str(out),
            CDK_CONTEXT_JSON=json.dumps({"aws:cdk:bundling-stacks": [], **context}),
        )
        return subprocess.run(["node", str(app)], env=env, capture_output=True, text=True, timeout=120)

    def test_the_example_parameters_file_synthesizes_one_stack_with_the_key_from_its_file(self):
        example = json.loads((CDK / "hlsgate.example.json").read_text())
        self.assertEqual(example["SigningPublicKey1File"], "../../keys/public.pem")  # where keygen writes
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(KEY, Path(d) / "public.pem")
            (Path(d) / "hlsgate.json").write_text(json.dumps(dict(example, SigningPublicKey1File="public.pem")))
            p = self.run_app({"params": str(Path(d) / "hlsgate.json"), "stackName": "video"})
        self.assertEqual(p.returncode, 0, p.stderr)
        template = json.loads((self.out / "video.template.json").read_text())
        keys = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::PublicKey"]
        self.assertEqual([k["Properties"]["PublicKeyConfig"]["EncodedKey"] for k in keys], [KEY.read_text()])

    def test_the_pinned_cdk_cli_reads_what_the_app_writes(self):
        # The CLI and aws-cdk-lib each know a cloud assembly schema; a CLI
        # older than the library refuses the app (aws-cdk 3.0.0 on npm does).
        cli = CDK / "node_modules" / ".bin" / "cdk"
        if not cli.exists():
            self.skipTest(f"{cli} is missing: `make cdk-tools` installs it")
        with tempfile.TemporaryDirectory() as d:
            example = json.loads((CDK / "hlsgate.example.json").read_text())
            shutil.copy(KEY, Path(d) / "public.pem")
            (Path(d) / "hlsgate.json").write_text(json.dumps(dict(example, SigningPublicKey1File="public.pem")))
            p = subprocess.run(
                [str(cli), "ls", "--no-notices", "-c", f"params={d}/hlsgate.json", "-o", f"{d}/out"],
                cwd=CDK, capture_output=True, text=True, timeout=180,
            )
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["hlsgate"])

    def test_a_value_given_both_inline_and_by_file_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(KEY, Path(d) / "public.pem")
            (Path(d) / "hlsgate.json").write_text(json.dumps(dict(BASE, SigningPublicKey1File="public.pem")))
            p = self.run_app({"params": str(Path(d) / "hlsgate.json")})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("gives SigningPublicKey1 twice", p.stderr)

    def test_without_a_parameters_file_it_says_how_to_give_one(self):
        p = self.run_app({})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("-c params=hlsgate.json", p.stderr)


if __name__ == "__main__":
    unittest.main()
