"""Offline checks of infra/template.yaml that cfn-lint and cfn-guard cannot make.

- The Rules refuse each bad combination of parameters, and the good ones pass.
- Each function's environment, resolved for several parameter sets, names only
  variables its crate reads, and the real binary accepts it: it gets past its
  configuration (which lists every bad variable and stops) to its next step.
- The public keys reach the rewriter as JSON it parses, under the key ids the
  key group has.
- The command `hlsgate keygen` prints gives SAM the whole PEM.
- `make deploy KEY1=… KEY2=…` hands SAM the saved answers plus the key files.

Run by `make validate`, which builds the binaries first; HLSGATE_BIN_DIR says
where they are (default target/debug).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "tools"))

from cfn_eval import Stack  # noqa: E402
from sam_transform import expand  # noqa: E402
from scenarios import BASE, ECDSA_PEM, RSA_PEM, SCENARIOS  # noqa: E402

BIN_DIR = Path(os.environ.get("HLSGATE_BIN_DIR", ROOT / "target" / "debug"))
TEMPLATE = expand(str(ROOT / "infra" / "template.yaml"))

# Which crate's sources say which variables a function may be given.
FUNCTIONS = {
    "RewriterFunction": ("manifest-rewriter", "crates/manifest-rewriter"),
    "IssuerFunction": ("signed-url-issuer", "crates/signed-url-issuer"),
    "JobsFunction": ("mediaconvert-jobs", "crates/mediaconvert-jobs"),
}


def crate_literals(crate_dir: str) -> set[str]:
    """Every "UPPER_CASE" string literal in the crate and the shared aws crate."""
    names: set[str] = set()
    for d in (crate_dir, "crates/aws"):
        for f in (ROOT / d / "src").rglob("*.rs"):
            names.update(re.findall(r'"([A-Z][A-Z0-9_]+)"', f.read_text()))
    return names


def run_binary(binary: str, env: dict[str, str]) -> tuple[list[dict], str]:
    """Start a Lambda binary with `env` and nothing listening for AWS or the
    runtime API; returns its JSON log lines and stderr."""
    path = BIN_DIR / binary
    if not path.exists():
        raise AssertionError(f"{path} is missing: run `cargo build --bins` (make validate does)")
    full = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_LAMBDA_FUNCTION_NAME": binary,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        **env,
    }
    p = subprocess.run([str(path)], env=full, capture_output=True, text=True, timeout=60)
    lines = []
    for line in p.stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return lines, p.stderr


def message(line: dict) -> str:
    return str(line.get("message", line.get("fields", {}).get("message", "")))


class Rules(unittest.TestCase):
    def test_good_parameter_sets_pass_the_rules_and_patterns(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                self.assertEqual(stack.failed_rules(), [])
                self.assertEqual(stack.pattern_violations(), [])

    def test_each_bad_combination_is_refused_with_its_reason(self):
        cases = [
            (dict(BASE, SigningPublicKey1=""), "at least one public key"),
            (dict(BASE, EntitlementClaim="", EntitlementValues=""), "Say who may watch"),
            (dict(BASE, EntitlementValues=""), "go together"),
            (dict(BASE, EntitlementVideosWildcards="true"), "needs EntitlementVideosClaim"),
            (dict(BASE, CdnAliasDomain="cdn.example.com"), "CdnAliasDomain and CdnCertificateArn"),
            (dict(BASE, CookieDomain="example.com", PlayerOrigins="https://p.example.com"), "need CdnAliasDomain"),
            (
                dict(
                    BASE,
                    CookieDomain="example.com",
                    CdnAliasDomain="cdn.example.com",
                    CdnCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
                ),
                "explicit PlayerOrigins",
            ),
        ]
        for params, reason in cases:
            with self.subTest(reason):
                failed = Stack(TEMPLATE, params).failed_rules()
                self.assertTrue(any(reason in f for f in failed), failed)

    def test_ip_binding_turns_ipv6_off(self):
        # CloudFront policies bind IPv4 ranges only; a viewer on IPv6 would
        # fail every bound request.
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                ipv6 = stack.properties("Distribution")["DistributionConfig"]["IPV6Enabled"]
                bind = stack.properties("IssuerFunction")["Environment"]["Variables"]["BIND_VIEWER_IP"]
                self.assertEqual(ipv6, bind != "true", (ipv6, bind))
        self.assertTrue(any(p.get("BindViewerIp") == "true" for p in SCENARIOS.values()))

    def test_patterns_refuse_a_cut_pem_and_a_non_https_issuer(self):
        # What SAM made of keygen's old hint: the PEM cut at its first space.
        stack = Stack(TEMPLATE, dict(BASE, SigningPublicKey1="-----BEGIN"))
        self.assertIn("SigningPublicKey1", stack.pattern_violations())
        stack = Stack(TEMPLATE, dict(BASE, JwtIssuer="http://issuer.example.com"))
        self.assertIn("JwtIssuer", stack.pattern_violations())
        stack = Stack(TEMPLATE, dict(BASE, CdnCertificateArn="arn:aws:acm:eu-west-1:123456789012:certificate/x"))
        self.assertIn("CdnCertificateArn", stack.pattern_violations())


class Functions(unittest.TestCase):
    def env_of(self, stack: Stack, function: str) -> dict[str, str]:
        props = stack.properties(function)
        env = props.get("Environment", {}).get("Variables", {})
        self.assertTrue(env, f"{function} has no environment")
        for k, v in env.items():
            self.assertIsInstance(v, str, f"{function} {k}")
        return env

    def test_every_variable_is_one_the_crate_reads(self):
        for function, (_, crate) in FUNCTIONS.items():
            known = crate_literals(crate)
            for name, params in SCENARIOS.items():
                env = self.env_of(Stack(TEMPLATE, params), function)
                with self.subTest(function=function, scenario=name):
                    self.assertEqual(sorted(set(env) - known), [])

    def test_the_binaries_accept_the_template_environment(self):
        for name, params in SCENARIOS.items():
            stack = Stack(TEMPLATE, params)
            for function, (binary, _) in FUNCTIONS.items():
                with self.subTest(function=function, scenario=name):
                    env = self.env_of(stack, function)
                    lines, stderr = run_binary(binary, env)
                    self.assertNotIn("configuration:", stderr)
                    messages = [message(l) for l in lines]
                    if function == "IssuerFunction":
                        # Past its configuration the issuer reads its keys
                        # (nothing answers here) and stops on that.
                        stopped = [l for l in lines if message(l) == "stopped"]
                        self.assertTrue(stopped, (messages, stderr))
                        self.assertIn("secret", json.dumps(stopped).lower())
                    else:
                        self.assertIn("ready", messages, stderr)

    def test_a_bad_variable_is_caught_by_this_check(self):
        # The check above would see a template mistake: a broken value stops
        # the binary at its configuration.
        env = self.env_of(Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"]), "RewriterFunction")
        env["PUBLIC_KEYS"] = env["PUBLIC_KEYS"].replace("\\n", "\n")
        _, stderr = run_binary("manifest-rewriter", env)
        self.assertIn("PUBLIC_KEYS", stderr)

    def test_public_keys_are_the_key_group_ids_with_whole_pems(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                keys = json.loads(self.env_of(stack, "RewriterFunction")["PUBLIC_KEYS"])
                group = stack.properties("KeyGroup")["KeyGroupConfig"]["Items"]
                self.assertEqual(sorted(keys), sorted(group))
                for slot in ("1", "2"):
                    pem = params.get(f"SigningPublicKey{slot}", "")
                    if pem:
                        kid = stack.eval({"Ref": f"PublicKey{slot}"})
                        body = lambda s: "".join(s.split()[3:-3])  # noqa: E731
                        self.assertEqual(body(keys[kid]), body(pem))

    def test_playlist_and_segment_behaviours_point_where_the_code_expects(self):
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        dist = stack.properties("Distribution")["DistributionConfig"]
        (playlists,) = dist["CacheBehaviors"]
        self.assertEqual(playlists["PathPattern"], "*.m3u8")
        origins = {o["Id"]: o for o in dist["Origins"]}
        rewriter = origins[playlists["TargetOriginId"]]
        header = self.env_of(stack, "RewriterFunction")["ORIGIN_HEADER"]
        self.assertIn(header, [h["HeaderName"] for h in rewriter["OriginCustomHeaders"]])
        policy = stack.properties("PlaylistOriginRequestPolicy")["OriginRequestPolicyConfig"]
        forwarded = policy["QueryStringsConfig"]["QueryStrings"]
        for p in ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "Expires"):
            self.assertIn(f"{p}-PREFIX", forwarded)
        self.assertNotIn("Host", policy["HeadersConfig"].get("Headers", []))
        # Cookie mode: the rewriter verifies the signed cookies, so they reach it.
        cookies = policy["CookiesConfig"]
        self.assertEqual(cookies["CookieBehavior"], "whitelist")
        for c in ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "Expires"):
            self.assertIn(f"CloudFront-{c}", cookies["Cookies"])
        stage = stack.properties("RewriterApiliveStage")
        self.assertEqual("/" + stage["StageName"], rewriter["OriginPath"])
        secret_header = next(h for h in rewriter["OriginCustomHeaders"] if h["HeaderName"] == header)
        self.assertRegex(secret_header["HeaderValue"], r"^\{\{resolve:secretsmanager:arn:[^}]+:SecretString\}\}$")
        # A VersionId pins the value, so changing it makes CloudFormation resolve again.
        pinned = Stack(TEMPLATE, SCENARIOS["two keys (rotation), cookies on an alias, IP binding, progress"])
        (pinned_rewriter,) = [
            o for o in pinned.properties("Distribution")["DistributionConfig"]["Origins"] if o["Id"] == "rewriter"
        ]
        value = next(h["HeaderValue"] for h in pinned_rewriter["OriginCustomHeaders"] if h["HeaderName"] == header)
        self.assertTrue(value.endswith(":SecretString:::a1b2c3d4-5678-90ab-cdef-EXAMPLE11111}}"), value)
        # The API names the function by its fixed name.
        api = json.dumps(stack.properties("RewriterApi"))
        fname = stack.properties("RewriterFunction")["FunctionName"]
        self.assertIn(f"function:{fname}/invocations", api)


class KeygenHint(unittest.TestCase):
    def test_the_printed_sam_command_passes_the_whole_pem(self):
        from samcli.cli.types import CfnParameterOverridesType

        hlsgate = BIN_DIR / "hlsgate"
        if not hlsgate.exists():
            raise AssertionError(f"{hlsgate} is missing: run `cargo build --bins`")
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "keys"
            printed = subprocess.run(
                [str(hlsgate), "keygen", "--algorithm", "ecdsa", "--out", str(out)],
                capture_output=True, text=True, check=True,
            ).stdout
            (line,) = [l.strip() for l in printed.splitlines() if "sam deploy" in l]
            # Let bash expand $(cat …) exactly as a user's shell would.
            argv = subprocess.run(
                ["bash", "-c", f'set -- {line[len("sam deploy "):]}; printf "%s\\0" "$@"'],
                capture_output=True, text=True, check=True,
            ).stdout.split("\0")[:-1]
            self.assertEqual(argv[0], "--parameter-overrides")
            parsed = CfnParameterOverridesType().convert(tuple(argv[1:]), None, None)
            pem = (out / "public.pem").read_text()
            self.assertEqual(parsed["SigningPublicKey1"].strip(), pem.strip())
            stack = Stack(TEMPLATE, dict(BASE, SigningPublicKey1=parsed["SigningPublicKey1"]))
            self.assertEqual(stack.pattern_violations(), [])
            self.assertEqual(shlex.split(line)[0:2], ["sam", "deploy"])


if __name__ == "__main__":
    unittest.main()


class Deploy(unittest.TestCase):
    """`make deploy KEY1=… KEY2=…` (infra/tools/deploy.sh + overrides.py) with
    a stand-in `sam` that records what it was given."""

    def deploy(self, samconfig: str, **keys: str) -> list[str]:
        with tempfile.TemporaryDirectory() as d:
            tools = Path(d) / "tools"
            (tools / "venv" / "bin").mkdir(parents=True)
            record = Path(d) / "argv"
            python = tools / "venv" / "bin" / "python"
            python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
            sam = tools / "venv" / "bin" / "sam"
            sam.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > "{record}"\n')
            python.chmod(0o755)
            sam.chmod(0o755)
            config = Path(d) / "samconfig.toml"
            config.write_text(samconfig)
            env = dict(os.environ, HLSGATE_TOOLS=str(tools), ENV="dev", SAMCONFIG=str(config), **keys)
            script = ROOT / "infra" / "tools" / "deploy.sh"
            subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, text=True)
            return record.read_text().split("\0")[:-1]

    def overrides(self, argv: list[str]) -> dict[str, str]:
        from samcli.cli.types import CfnParameterOverridesType

        i = argv.index("--parameter-overrides")
        return CfnParameterOverridesType().convert(tuple(argv[i + 1 :]), None, None)

    def saved_config(self) -> str:
        # What a guided run saves (SAM's own quoting of the answers).
        from samcli.commands.deploy.guided_config import GuidedConfig

        q = GuidedConfig.quote_parameter_values
        params = " ".join(
            f"{k}={q(v)}"
            for k, v in {
                "SigningPublicKey1": ECDSA_PEM.strip(),
                "JwtIssuer": BASE["JwtIssuer"],
                "JwtAudience": BASE["JwtAudience"],
                "EntitlementAnyViewer": "true",
            }.items()
        )
        return "version = 0.1\n[dev.deploy.parameters]\nstack_name = \"hlsgate-dev\"\nparameter_overrides = " + json.dumps(params) + "\n"

    def test_a_new_key_joins_the_saved_answers(self):
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
            f.write(RSA_PEM)
            f.flush()
            argv = self.deploy(self.saved_config(), KEY2=f.name)
        self.assertEqual(argv[:1], ["deploy"])
        self.assertIn("--guided", argv)
        self.assertEqual(argv[argv.index("--config-env") + 1], "dev")
        got = self.overrides(argv)
        self.assertEqual(got["SigningPublicKey1"], ECDSA_PEM.strip())
        self.assertEqual(got["SigningPublicKey2"], RSA_PEM.strip())
        self.assertEqual(got["JwtIssuer"], BASE["JwtIssuer"])
        self.assertEqual(got["JwtAudience"], BASE["JwtAudience"])
        self.assertEqual(got["EntitlementAnyViewer"], "true")
        stack = Stack(TEMPLATE, got)
        self.assertEqual(stack.pattern_violations(), [])
        self.assertEqual(stack.failed_rules(), [])

    def test_none_empties_a_slot_and_no_keys_passes_nothing(self):
        got = self.overrides(self.deploy(self.saved_config(), KEY1="none"))
        self.assertEqual(got["SigningPublicKey1"], "")
        argv = self.deploy(self.saved_config())
        self.assertNotIn("--parameter-overrides", argv)

    def test_the_committed_samconfig_sections_parse(self):
        sys.path.insert(0, str(ROOT / "infra" / "tools"))
        from overrides import saved

        for env in ("dev", "prod"):
            with self.subTest(env):
                params = saved(ROOT / "infra" / "samconfig.toml", env)
                stack = Stack(TEMPLATE, dict(BASE, **params))
                self.assertEqual(stack.pattern_violations(), [])
