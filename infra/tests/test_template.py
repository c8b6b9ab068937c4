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
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "tools"))

from cfn_eval import Stack  # noqa: E402
from sam_transform import expand  # noqa: E402
from scenarios import BASE, ECDSA_PEM, REFUSED, REFUSED_BY_PATTERN, RSA_PEM, SCENARIOS  # noqa: E402

BIN_DIR = Path(os.environ.get("HLSGATE_BIN_DIR", ROOT / "target" / "debug"))
TEMPLATE = expand(str(ROOT / "infra" / "template.yaml"))

# Which crate's sources say which variables a function may be given.
FUNCTIONS = {
    "RewriterFunction": ("manifest-rewriter", "crates/manifest-rewriter"),
    "IssuerFunction": ("signed-url-issuer", "crates/signed-url-issuer"),
    "JobsFunction": ("mediaconvert-jobs", "crates/mediaconvert-jobs"),
    "UploadFunction": ("upload-api", "crates/upload-api"),
    # Only where the stack provides keys (Encryption=aes-128, KeyExchange=speke).
    "KeyProviderFunction": ("key-provider", "crates/key-provider"),
}


def crate_literals(crate_dir: str) -> set[str]:
    """Every "UPPER_CASE" string literal in the crate and the shared aws crate."""
    names: set[str] = set()
    for d in (crate_dir, "crates/aws"):
        for f in (ROOT / d / "src").rglob("*.rs"):
            names.update(re.findall(r'"([A-Z][A-Z0-9_]+)"', f.read_text()))
    return names


def binary_and_env(binary: str, env: dict[str, str], runtime_api: str = "127.0.0.1:9") -> tuple[Path, dict[str, str]]:
    """A Lambda binary's path and `env` plus what Lambda sets, with nothing
    listening for AWS (and, by default, for the Runtime API)."""
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
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_LAMBDA_FUNCTION_NAME": binary,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        **env,
    }
    return path, full


def run_binary(binary: str, env: dict[str, str]) -> tuple[list[dict], str]:
    """Start a Lambda binary with `env` and nothing listening for AWS or the
    runtime API; returns its JSON log lines and stderr."""
    path, full = binary_and_env(binary, env)
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
        for params, reason in REFUSED:
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
        for params, name in REFUSED_BY_PATTERN:
            with self.subTest(name):
                self.assertIn(name, Stack(TEMPLATE, params).pattern_violations())


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
                stack = Stack(TEMPLATE, params)
                if not stack.resource_exists(function):
                    continue
                env = self.env_of(stack, function)
                with self.subTest(function=function, scenario=name):
                    self.assertEqual(sorted(set(env) - known), [])

    def test_the_binaries_accept_the_template_environment(self):
        for name, params in SCENARIOS.items():
            stack = Stack(TEMPLATE, params)
            for function, (binary, _) in FUNCTIONS.items():
                if not stack.resource_exists(function):
                    continue
                with self.subTest(function=function, scenario=name):
                    env = self.env_of(stack, function)
                    lines, stderr = run_binary(binary, env)
                    self.assertNotIn("configuration:", stderr)
                    messages = [message(l) for l in lines]
                    if function in ("IssuerFunction", "UploadFunction"):
                        # Past its configuration the issuer reads its keys,
                        # and both read the pseudonym key (nothing answers
                        # here), and stop on that.
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
        behaviours = {b["PathPattern"]: b for b in dist["CacheBehaviors"]}
        # First match wins: the issuer's path before the playlists' suffix.
        self.assertEqual([b["PathPattern"] for b in dist["CacheBehaviors"]], ["/playback/*", "*/hls.key", "*.m3u8"])
        # The key behaviour is the playlists' in all but its path: the same
        # origin, key group, policies and viewer-request function.
        key = behaviours["*/hls.key"]
        self.assertEqual({k: v for k, v in key.items() if k != "PathPattern"}, {k: v for k, v in behaviours["*.m3u8"].items() if k != "PathPattern"})
        playlists = behaviours["*.m3u8"]
        origins = {o["Id"]: o for o in dist["Origins"]}
        rewriter = origins[playlists["TargetOriginId"]]
        env = self.env_of(stack, "RewriterFunction")
        header = env["ORIGIN_HEADER"]
        self.assertIn(header, [h["HeaderName"] for h in rewriter["OriginCustomHeaders"]])
        policy = stack.properties("PlaylistOriginRequestPolicy")["OriginRequestPolicyConfig"]
        forwarded = policy["QueryStringsConfig"]["QueryStrings"]
        for p in ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "Expires"):
            self.assertIn(f"{p}-PREFIX", forwarded)
        self.assertNotIn("Host", policy["HeadersConfig"].get("Headers", []))
        # The viewer's origin reaches the rewriter under the name it reads.
        lowered = [h.lower() for h in policy["HeadersConfig"]["Headers"]]
        self.assertIn(env["PUBLIC_ORIGIN_HEADER"].lower(), lowered)
        self.assertNotIn("CDN_DOMAIN", env, "the rewriter must not depend on the distribution")
        (assoc,) = playlists["FunctionAssociations"]
        self.assertEqual(assoc["EventType"], "viewer-request")
        # Cookie mode: the rewriter verifies the signed cookies, so they reach it.
        cookies = policy["CookiesConfig"]
        self.assertEqual(cookies["CookieBehavior"], "whitelist")
        for c in ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "Expires"):
            self.assertIn(f"CloudFront-{c}", cookies["Cookies"])
        secret_header = next(h for h in rewriter["OriginCustomHeaders"] if h["HeaderName"] == header)
        self.assertRegex(secret_header["HeaderValue"], r"^\{\{resolve:secretsmanager:arn:[^}]+:SecretString\}\}$")
        # A VersionId pins the value, so changing it makes CloudFormation resolve again.
        pinned = Stack(TEMPLATE, SCENARIOS["two keys (rotation), cookies on an alias, IP binding, progress"])
        for o in pinned.properties("Distribution")["DistributionConfig"]["Origins"]:
            if o["Id"] in ("rewriter", "issuer"):
                value = next(h["HeaderValue"] for h in o["OriginCustomHeaders"] if h["HeaderName"] == header)
                self.assertTrue(value.endswith(":SecretString:::a1b2c3d4-5678-90ab-cdef-EXAMPLE11111}}"), value)

    def test_the_function_url_origin_only_this_distribution_can_call(self):
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        self.assertFalse(stack.resource_exists("RewriterApi"))
        url = stack.properties("RewriterUrl")
        self.assertEqual(url["AuthType"], "AWS_IAM")
        (rewriter,) = [o for o in stack.properties("Distribution")["DistributionConfig"]["Origins"] if o["Id"] == "rewriter"]
        self.assertEqual("https://" + rewriter["DomainName"] + "/", stack.eval({"Fn::GetAtt": ["RewriterUrl", "FunctionUrl"]}))
        self.assertNotIn("OriginPath", rewriter)
        oac = stack.properties("RewriterOriginAccessControl")["OriginAccessControlConfig"]
        self.assertEqual(
            (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]),
            ("lambda", "always", "sigv4"),
        )
        self.assertEqual(rewriter["OriginAccessControlId"], stack.eval({"Fn::GetAtt": ["RewriterOriginAccessControl", "Id"]}))
        distribution = stack.eval({"Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}:distribution/${Distribution}"})
        actions = {}
        for name in ("RewriterUrlInvokeUrlPermission", "RewriterUrlInvokeFunctionPermission"):
            p = stack.properties(name)
            self.assertEqual((p["Principal"], p["SourceArn"]), ("cloudfront.amazonaws.com", distribution))
            actions[p["Action"]] = p
        self.assertEqual(sorted(actions), ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"])
        self.assertEqual(actions["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"], "AWS_IAM")
        self.assertIs(actions["lambda:InvokeFunction"]["InvokedViaFunctionUrl"], True)

    def test_the_rest_api_origin_is_the_documented_alternative(self):
        params = SCENARIOS["REST API origin, a web ACL, alarms by e-mail, capped concurrency"]
        stack = Stack(TEMPLATE, params)
        self.assertFalse(stack.resource_exists("RewriterUrl"))
        (rewriter,) = [o for o in stack.properties("Distribution")["DistributionConfig"]["Origins"] if o["Id"] == "rewriter"]
        stage = stack.properties("RewriterApiStage")
        self.assertEqual("/" + stage["StageName"], rewriter["OriginPath"])
        self.assertIn("Accept", [h["HeaderName"] for h in rewriter["OriginCustomHeaders"]])
        (limits,) = stage["MethodSettings"]
        self.assertEqual((limits["ThrottlingRateLimit"], limits["ThrottlingBurstLimit"]), ("1000", "2000"))
        self.assertIn("lambda_request_id", stage["AccessLogSetting"]["Format"])
        api = json.dumps(stack.properties("RewriterApi"))
        self.assertIn(stack.eval({"Fn::GetAtt": ["RewriterFunction", "Arn"]}) + "/invocations", api)

    def test_the_issuer_behind_the_distribution_and_on_its_own_url(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                dist = stack.properties("Distribution")["DistributionConfig"]
                (playback,) = [b for b in dist["CacheBehaviors"] if b["PathPattern"] == "/playback/*"]
                self.assertNotIn("TrustedKeyGroups", playback, "the signatures are handed out here")
                (issuer,) = [o for o in dist["Origins"] if o["Id"] == playback["TargetOriginId"]]
                self.assertEqual(issuer["DomainName"], stack.eval({"Fn::Sub": "${IssuerApi}.execute-api.us-east-1.amazonaws.com"}))
                env = self.env_of(stack, "IssuerFunction")
                self.assertIn(env["ORIGIN_HEADER"], [h["HeaderName"] for h in issuer["OriginCustomHeaders"]])
                self.assertEqual(env["ORIGIN_SECRET_ARN"], stack.eval({"Ref": "OriginSecret"}))
                cache = stack.properties("IssuerCachePolicy")["CachePolicyConfig"]
                self.assertEqual((cache["MinTTL"], cache["DefaultTTL"]), (0, 0))
                key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
                self.assertEqual(key["HeadersConfig"]["Headers"], ["Authorization"])
                self.assertEqual(key["QueryStringsConfig"]["QueryStrings"], ["mode", "device"])
                # Renewal (POST) and ending (DELETE) go through the behaviour.
                self.assertEqual(len(playback["AllowedMethods"]), 7)
                self.assertEqual(playback["CachedMethods"], ["GET", "HEAD"])
                forwarded = stack.properties("IssuerOriginRequestPolicy")["OriginRequestPolicyConfig"]
                self.assertIn("CloudFront-Viewer-Address", forwarded["HeadersConfig"]["Headers"])
                # The issuer's routes (the rest are the upload API's), all
                # behind the JWT authorizer but the end beacon's, whose end
                # token is its credential: preflights are API Gateway's own
                # CORS answer, never an invocation.
                routes = [n for n, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::ApiGatewayV2::Route"]
                issuer_routes = {
                    stack.properties(r)["RouteKey"]: stack.properties(r).get("AuthorizationType")
                    for r in routes
                    if not r.startswith("Upload")
                }
                self.assertEqual(
                    issuer_routes,
                    {
                        "GET /playback/{videoId}": "JWT",
                        "GET /playback/{videoId}/sessions": "JWT",
                        "POST /playback/{videoId}/sessions/{sessionId}": "JWT",
                        "DELETE /playback/{videoId}/sessions/{sessionId}": "JWT",
                        "POST /playback/{videoId}/sessions/{sessionId}/end": "NONE",
                    },
                )
                route = stack.properties("IssuerRoute")
                cors = stack.properties("IssuerApi")["CorsConfiguration"]
                players = params.get("PlayerOrigins", "*").split(",")
                uploaders = [o for o in params.get("UploadOrigins", "").split(",") if o]
                self.assertEqual(cors["AllowOrigins"], players if players == ["*"] else players + uploaders)
                self.assertEqual(cors["AllowCredentials"], bool(params.get("CookieDomain")))
                stage = stack.properties("IssuerStage")
                limits = stage["RouteSettings"][route["RouteKey"]]
                self.assertEqual(
                    (limits["ThrottlingRateLimit"], limits["ThrottlingBurstLimit"]),
                    (params.get("IssuerRateLimit", "100"), params.get("IssuerBurstLimit", "200")),
                )
                self.assertIn("lambda_request_id", stage["AccessLogSettings"]["Format"])
                cookies = params.get("HostOnlyCookies") == "true" or bool(params.get("CookieDomain"))
                self.assertEqual(env["HOST_ONLY_COOKIES"], params.get("HostOnlyCookies", "false"))
                self.assertEqual(self.env_of(stack, "RewriterFunction")["AUTH_MODE"], "cookies" if cookies else "url")

    def test_sessions_are_recorded_counted_and_written_only_by_the_issuer(self):
        # docs/sessions.md: with Sessions=table (the default) a table with
        # TTL on expires_at, named to the issuer, which alone may write it,
        # item by item; MAX_STREAMS always, STREAM_LIMIT only with a limit.
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                env = self.env_of(stack, "IssuerFunction")
                self.assertEqual(env["SIGNATURE_SECONDS"], params.get("SignatureSeconds", "300"))
                self.assertEqual(env["MAX_STREAMS"], params.get("MaxStreams", "0"))
                self.assertEqual(env.get("STREAM_LIMIT"), params.get("StreamLimit", "refuse") if params.get("MaxStreams", "0") != "0" else None)
                self.assertEqual(env.get("SESSION_GRACE_SECONDS"), params.get("SessionGraceSeconds"))
                table = params.get("Sessions", "table") == "table"
                self.assertEqual(stack.resource_exists("SessionsTable"), table)
                writes = [
                    (role, st)
                    for role, r in TEMPLATE["Resources"].items()
                    if r["Type"] == "AWS::IAM::Role" and stack.resource_exists(role)
                    for policy in stack.properties(role).get("Policies", [])
                    for st in policy["PolicyDocument"]["Statement"]
                    if {"dynamodb:PutItem", "dynamodb:UpdateItem"} & set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
                ]
                if not table:
                    self.assertNotIn("SESSIONS_TABLE", env)
                    self.assertEqual(writes, [])
                    continue
                self.assertEqual(env["SESSIONS_TABLE"], stack.eval({"Ref": "SessionsTable"}))
                t = stack.properties("SessionsTable")
                self.assertEqual(t["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
                self.assertEqual([k["AttributeName"] for k in t["KeySchema"]], ["subject", "slot"])
                ((role, st),) = writes
                self.assertEqual(role, "IssuerRole")
                self.assertEqual(
                    sorted(st["Action"]),
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                )
                self.assertEqual(st["Resource"], stack.eval({"Fn::GetAtt": ["SessionsTable", "Arn"]}))

    def test_the_upload_routes_the_bucket_cors_and_the_role_are_what_the_api_needs(self):
        # docs/upload-api.md: five routes on the issuer's API, behind its JWT
        # authorizer, to the upload function; the browser may PUT parts and
        # read their ETag; the role may only do multipart under uploads/ and
        # read the statuses.
        expected = {
            "POST /uploads",
            "GET /uploads/{upload}/parts",
            "POST /uploads/{upload}/complete",
            "DELETE /uploads/{upload}",
            "GET /videos/{videoId}/status",
        }
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                routes = [n for n, r in TEMPLATE["Resources"].items() if n.startswith("Upload") and r["Type"] == "AWS::ApiGatewayV2::Route"]
                keys = set()
                for r in routes:
                    route = stack.properties(r)
                    keys.add(route["RouteKey"])
                    self.assertEqual(route["AuthorizationType"], "JWT", r)
                    self.assertEqual(route["AuthorizerId"], stack.eval({"Ref": "IssuerAuthorizer"}), r)
                    self.assertEqual(route["Target"], stack.eval({"Fn::Sub": "integrations/${UploadIntegration}"}), r)
                self.assertEqual(keys, expected)
                cors = stack.properties("IssuerApi")["CorsConfiguration"]
                self.assertTrue({"POST", "DELETE"} <= set(cors["AllowMethods"]))
                self.assertIn("Content-Type", cors["AllowHeaders"])
                bucket = stack.properties("UploadBucket")
                env = self.env_of(stack, "UploadFunction")
                # Only the upload pages, never *, and none at all without
                # UploadOrigins: the player origins are not upload origins.
                if params.get("UploadOrigins"):
                    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
                    self.assertEqual((rule["AllowedMethods"], rule["ExposedHeaders"]), (["PUT"], ["ETag"]))
                    self.assertEqual(rule["AllowedOrigins"], params["UploadOrigins"].split(","))
                    self.assertEqual(env["CORS_ALLOWED_ORIGINS"], params["UploadOrigins"])
                else:
                    self.assertNotIn("CorsConfiguration", bucket)
                    self.assertNotIn("CORS_ALLOWED_ORIGINS", env)
                lifecycle = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
                self.assertEqual(lifecycle["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 1})
                env = self.env_of(stack, "UploadFunction")
                jobs = self.env_of(stack, "JobsFunction")
                for shared in ("INPUT_BUCKET", "INPUT_PREFIX", "MEDIA_BUCKET", "KEY_PREFIX", "STATUS_PREFIX", "MAX_UPLOAD_BYTES"):
                    self.assertEqual(env[shared], jobs[shared], shared)
                self.assertEqual(env["UPLOADER_VALUES"], params.get("UploaderValues", "editors"))
                (policy,) = stack.properties("UploadRole")["Policies"]
                statements = {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}
                upload_arn = stack.eval({"Fn::GetAtt": ["UploadBucket", "Arn"]})
                media_arn = stack.eval({"Fn::GetAtt": ["MediaBucket", "Arn"]})
                self.assertEqual(statements["MultipartUploads"]["Resource"], f"{upload_arn}/{env['INPUT_PREFIX']}*")
                self.assertEqual(statements["ProcessingStatus"]["Resource"], f"{media_arn}/{env['STATUS_PREFIX']}*")
                self.assertEqual(statements["ProcessingStatus"]["Action"], "s3:GetObject")
                jobs_role = stack.properties("JobsRole")["Policies"][0]["PolicyDocument"]["Statement"]
                (status,) = [st for st in jobs_role if st.get("Sid") == "ProcessingStatus"]
                self.assertEqual(status["Resource"], f"{media_arn}/{jobs['STATUS_PREFIX']}*")
                rule = stack.properties("JobStateRule")["EventPattern"]["detail"]["status"]
                self.assertEqual(set(rule), {"PROGRESSING", "STATUS_UPDATE", "COMPLETE", "ERROR"})

    def test_the_viewer_request_function_sends_the_viewers_origin(self):
        node = shutil.which("node")
        if node is None:
            self.skipTest("node is not installed: the CloudFront Function is not run")
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        code = stack.properties("PublicOriginFunction")["FunctionCode"]
        header = self.env_of(stack, "RewriterFunction")["PUBLIC_ORIGIN_HEADER"].lower()
        script = code + """
const cases = [["D111111ABCDEF8.cloudfront.net", "evil"], ["cdn.example.com", null]];
const out = cases.map(([host, forged]) => {
  const headers = { host: { value: host } };
  if (forged) headers["x-hlsgate-origin"] = { value: forged };
  return handler({ request: { method: "GET", uri: "/videos/a/master.m3u8", headers } }).headers;
});
console.log(JSON.stringify(out));
"""
        p = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        first, second = json.loads(p.stdout)
        self.assertEqual(first[header]["value"], "https://d111111abcdef8.cloudfront.net", "lowercased, the forged one replaced")
        self.assertEqual(second[header]["value"], "https://cdn.example.com")

    def test_the_web_acl_and_the_concurrency_caps_only_when_given(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                dist = stack.properties("Distribution")["DistributionConfig"]
                self.assertEqual(dist.get("WebACLId", ""), params.get("WebAclArn", ""))
                for function, param in (
                    ("RewriterFunction", "RewriterReservedConcurrency"),
                    ("IssuerFunction", "IssuerReservedConcurrency"),
                    ("JobsFunction", "JobsReservedConcurrency"),
                ):
                    got = stack.properties(function).get("ReservedConcurrentExecutions")
                    self.assertEqual(got, params.get(param), function)

    def test_every_log_group_keeps_logs_as_long_as_the_functions(self):
        stack = Stack(TEMPLATE, dict(BASE, LogRetentionDays="90"))
        groups = [n for n, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup" and stack.resource_exists(n)]
        self.assertGreaterEqual(len(groups), 5)
        for g in groups:
            self.assertEqual(stack.properties(g)["RetentionInDays"], "90", g)


class Encryption(unittest.TestCase):
    """The ladder's keys: made by the jobs function, stored outside what the
    media origin serves, read by the rewriter's key route."""

    def test_on_by_default_off_on_request(self):
        on = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        off = Stack(TEMPLATE, SCENARIOS["unencrypted ladders, stateless sessions"])
        self.assertEqual(on.properties("JobsFunction")["Environment"]["Variables"]["ENCRYPTION"], "aes-128")
        self.assertEqual(off.properties("JobsFunction")["Environment"]["Variables"]["ENCRYPTION"], "none")

        def sids(stack: Stack, role: str) -> list[str]:
            (policy,) = stack.properties(role)["Policies"]
            return [st.get("Sid") for st in policy["PolicyDocument"]["Statement"]]

        static = Stack(TEMPLATE, SCENARIOS["slot 1 retired, key in slot 2, any viewer"])
        # With SPEKE (the default) the jobs function never touches a key;
        # with KeyExchange=static it makes and reads them.
        self.assertNotIn("VideoKeys", sids(on, "JobsRole"))
        self.assertIn("VideoKeys", sids(static, "JobsRole"))
        self.assertNotIn("VideoKeys", sids(off, "JobsRole"))
        # Earlier encrypted videos still play after switching it off.
        self.assertIn("ReadVideoKeys", sids(off, "RewriterRole"))

    def test_both_functions_read_the_same_key_store_outside_the_media_prefix(self):
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        rewriter = stack.properties("RewriterFunction")["Environment"]["Variables"]
        jobs = stack.properties("JobsFunction")["Environment"]["Variables"]
        self.assertEqual(rewriter["KEYS_PREFIX"], jobs["KEYS_PREFIX"])
        self.assertFalse(rewriter["KEYS_PREFIX"].startswith(rewriter["KEY_PREFIX"]))
        (policy,) = stack.properties("MediaBucketPolicy")["PolicyDocument"]["Statement"][:1] or [None]
        for st in stack.properties("MediaBucketPolicy")["PolicyDocument"]["Statement"]:
            for r in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
                self.assertNotIn("/" + rewriter["KEYS_PREFIX"], str(r))
        (role,) = stack.properties("RewriterRole")["Policies"]
        (keys,) = [st for st in role["PolicyDocument"]["Statement"] if st.get("Sid") == "ReadVideoKeys"]
        self.assertTrue(keys["Resource"].endswith("/" + rewriter["KEYS_PREFIX"] + "*"), keys)


class KeyProvider(unittest.TestCase):
    """docs/encryption.md: MediaConvert asks this stack's key provider for
    each job's key; only the MediaConvert role can call it, on one method
    and path; the jobs function names exactly that URL; a vendor's endpoint
    or static keys replace it."""

    DEFAULT = "one ECDSA key, claim entitlement"
    VENDOR = "a DRM vendor's FairPlay ladder over its SPEKE endpoint"
    STATIC = "slot 1 retired, key in slot 2, any viewer"

    def test_only_the_mediaconvert_role_calls_the_provider_on_its_one_route(self):
        stack = Stack(TEMPLATE, SCENARIOS[self.DEFAULT])
        role = stack.eval({"Fn::GetAtt": ["MediaConvertRole", "Arn"]})
        api = stack.properties("KeyProviderApi")
        (path,) = api["Body"]["paths"]
        self.assertEqual(path, "/copyProtection")
        (method,) = api["Body"]["paths"][path]
        self.assertEqual(method, "post")
        (scheme,) = api["Body"]["paths"][path]["post"]["security"][0]
        self.assertEqual(api["Body"]["components"]["securitySchemes"][scheme]["x-amazon-apigateway-authtype"], "awsSigv4")
        allow, deny = api["Policy"]["Statement"]
        self.assertEqual((allow["Effect"], allow["Principal"]["AWS"]), ("Allow", role))
        self.assertEqual(allow["Resource"], "execute-api:/*/POST/copyProtection")
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Resource"]), ("Deny", "*", "execute-api:/*"))
        self.assertEqual(deny["Condition"], {"StringNotEquals": {"aws:PrincipalArn": role}})
        # The role's invoke permission: exactly that stage, method and path.
        invoke = stack.properties("MediaConvertInvokesKeyProvider")
        self.assertEqual(invoke["Roles"], [stack.eval({"Ref": "MediaConvertRole"})])
        (st,) = invoke["PolicyDocument"]["Statement"]
        api_id = stack.eval({"Ref": "KeyProviderApi"})
        stage = stack.properties("KeyProviderStage")["StageName"]
        self.assertEqual(st["Action"], "execute-api:Invoke")
        self.assertTrue(st["Resource"].endswith(f":{api_id}/{stage}/POST/copyProtection"), st)
        # The URL the jobs function gives MediaConvert is that route.
        jobs = stack.properties("JobsFunction")["Environment"]["Variables"]
        self.assertEqual(jobs["KEY_EXCHANGE"], "speke")
        self.assertRegex(jobs["SPEKE_URL"], rf"^https://{api_id}\.execute-api\.[a-z0-9-]+\.amazonaws\.com/{stage}/copyProtection$")
        self.assertEqual(jobs["SPEKE_SYSTEM_IDS"], "")
        # The function checks the caller again, and shares the key store.
        env = stack.properties("KeyProviderFunction")["Environment"]["Variables"]
        self.assertEqual(env["CALLER_ROLE_ARN"], role)
        rewriter = stack.properties("RewriterFunction")["Environment"]["Variables"]
        self.assertEqual(env["KEYS_PREFIX"], rewriter["KEYS_PREFIX"])
        (policy,) = stack.properties("KeyProviderRole")["Policies"]
        (keys,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "ProvideVideoKeys"]
        self.assertEqual(keys["Action"], ["s3:GetObject", "s3:PutObject"])
        self.assertTrue(keys["Resource"].endswith("/" + env["KEYS_PREFIX"] + "*"), keys)
        permission = stack.properties("KeyProviderInvokePermission")
        self.assertTrue(permission["SourceArn"].endswith(f":{api_id}/*/POST/copyProtection"), permission)

    def test_a_vendor_or_static_keys_replace_the_provider(self):
        vendor = Stack(TEMPLATE, SCENARIOS[self.VENDOR])
        static = Stack(TEMPLATE, SCENARIOS[self.STATIC])
        off = Stack(TEMPLATE, SCENARIOS["unencrypted ladders, stateless sessions"])
        for stack in (vendor, static, off):
            for r in ("KeyProviderFunction", "KeyProviderApi", "MediaConvertInvokesKeyProvider"):
                self.assertFalse(stack.resource_exists(r), r)
        jobs = vendor.properties("JobsFunction")["Environment"]["Variables"]
        params = SCENARIOS[self.VENDOR]
        self.assertEqual(jobs["ENCRYPTION"], "sample-aes")
        self.assertEqual(jobs["SPEKE_URL"], params["SpekeUrl"])
        self.assertEqual(jobs["SPEKE_SYSTEM_IDS"], params["SpekeSystemIds"])
        self.assertEqual(jobs["SPEKE_CERTIFICATE_ARN"], params["SpekeCertificateArn"])
        self.assertEqual(static.properties("JobsFunction")["Environment"]["Variables"]["KEY_EXCHANGE"], "static")


class PlaybackRules(unittest.TestCase):
    """docs/playback-rules.md: the issuer reads each video's rules outside
    what the media origin serves, and is told the viewer's country and page;
    a whole catalogue's territory is CloudFront's own geo restriction."""

    def test_the_issuer_reads_rules_it_cannot_write_and_the_edge_never_serves(self):
        for name, params in SCENARIOS.items():
            with self.subTest(name):
                stack = Stack(TEMPLATE, params)
                env = stack.properties("IssuerFunction")["Environment"]["Variables"]
                prefix = env["RULES_PREFIX"]
                self.assertFalse(prefix.startswith(env["KEY_PREFIX"]))
                self.assertEqual(env["UNKNOWN_COUNTRY"], params.get("UnknownCountry", "refuse"))
                (policy,) = stack.properties("IssuerRole")["Policies"]
                (read,) = [st for st in policy["PolicyDocument"]["Statement"] if st.get("Sid") == "ReadRules"]
                self.assertEqual(read["Action"], "s3:GetObject")
                self.assertEqual(read["Resource"], stack.eval({"Fn::Sub": "${MediaBucket.Arn}/" + prefix + "*"}))
                # No role writes them (the back office's own credentials do),
                # and no bucket policy lets the distribution read them.
                for role, r in TEMPLATE["Resources"].items():
                    if r["Type"] != "AWS::IAM::Role" or not stack.resource_exists(role):
                        continue
                    for pol in stack.properties(role).get("Policies", []):
                        for st in pol["PolicyDocument"]["Statement"]:
                            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                            if "/" + prefix in json.dumps(st.get("Resource")):
                                self.assertEqual(actions, ["s3:GetObject"], (role, st))
                for st in stack.properties("MediaBucketPolicy")["PolicyDocument"]["Statement"]:
                    self.assertNotIn("/" + prefix, json.dumps(st["Resource"]))
                forwarded = stack.properties("IssuerOriginRequestPolicy")["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
                for h in ("CloudFront-Viewer-Country", "Origin", "Referer"):
                    self.assertIn(h, forwarded)

    def test_a_catalogue_territory_is_cloudfronts_geo_restriction(self):
        expected = {
            "one ECDSA key, claim entitlement": None,
            "an existing grants table, no claim rule, one territory": ("whitelist", ["DE", "AT", "CH"]),
            "a webhook with two claims": ("blacklist", ["KP", "IR"]),
        }
        for name, want in expected.items():
            with self.subTest(name):
                dist = Stack(TEMPLATE, SCENARIOS[name]).properties("Distribution")["DistributionConfig"]
                geo = dist.get("Restrictions", {}).get("GeoRestriction")
                self.assertEqual(None if geo is None else (geo["RestrictionType"], geo["Locations"]), want)


class Grants(unittest.TestCase):
    """The issuer's store: the table it is told to read is the one its role
    may read, with two actions; the webhook's key is the one it may fetch."""

    def statements(self, stack: Stack) -> list[dict]:
        (policy,) = stack.properties("IssuerRole")["Policies"]
        return policy["PolicyDocument"]["Statement"]

    def test_the_table_in_the_environment_is_the_one_the_role_reads(self):
        for name in ("a grants table the stack creates, with collections", "an existing grants table, no claim rule, one territory"):
            with self.subTest(name):
                stack = Stack(TEMPLATE, SCENARIOS[name])
                env = stack.properties("IssuerFunction")["Environment"]["Variables"]
                self.assertEqual(env["ENTITLEMENT"], "dynamodb")
                (grants,) = [s for s in self.statements(stack) if s.get("Sid") == "ReadGrants"]
                self.assertEqual(sorted(grants["Action"]), ["dynamodb:GetItem", "dynamodb:Query"])
                self.assertTrue(grants["Resource"].endswith(":table/" + env["GRANTS_TABLE"]), grants)
                self.assertEqual(stack.condition("CreatesGrantsTable"), "GrantsTableName" not in SCENARIOS[name])
                for var in ("ENTITLEMENT_URL", "ENTITLEMENT_SECRET_ARN", "ENTITLEMENT_CLAIMS"):
                    self.assertNotIn(var, env)
        existing = Stack(TEMPLATE, SCENARIOS["an existing grants table, no claim rule, one territory"])
        self.assertEqual(existing.properties("IssuerFunction")["Environment"]["Variables"]["GRANTS_TABLE"], "shop-grants")

    def test_the_created_table_has_the_key_the_code_reads(self):
        stack = Stack(TEMPLATE, SCENARIOS["a grants table the stack creates, with collections"])
        table = TEMPLATE["Resources"]["GrantsTable"]
        self.assertEqual(table["DeletionPolicy"], "Retain")
        props = stack.properties("GrantsTable")
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        # crates/signed-url-issuer/src/entitlement/grants.rs, `attr`.
        source = (ROOT / "crates/signed-url-issuer/src/entitlement/grants.rs").read_text()
        for const, value in (("SUBJECT", keys["HASH"]), ("VIDEO", keys["RANGE"]), ("EXPIRES_AT", props["TimeToLiveSpecification"]["AttributeName"])):
            self.assertIn(f'pub const {const}: &str = "{value}";', source)

    def test_the_webhook_key_is_the_one_the_role_may_read(self):
        stack = Stack(TEMPLATE, SCENARIOS["a webhook with two claims"])
        env = stack.properties("IssuerFunction")["Environment"]["Variables"]
        self.assertEqual(env["ENTITLEMENT_URL"], "https://shop.example.com/hlsgate/entitled")
        self.assertEqual(env["ENTITLEMENT_CLAIMS"], "cognito:groups,email")
        (key,) = [s for s in self.statements(stack) if s.get("Sid") == "WebhookKey"]
        self.assertEqual(key["Resource"], env["ENTITLEMENT_SECRET_ARN"])
        self.assertNotIn("GRANTS_TABLE", env)
        self.assertFalse([s for s in self.statements(stack) if s.get("Sid") == "ReadGrants"])

    def test_claims_only_stacks_have_neither(self):
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        sids = [s.get("Sid") for s in self.statements(stack)]
        self.assertNotIn("ReadGrants", sids)
        self.assertNotIn("WebhookKey", sids)
        self.assertFalse(stack.condition("UsesGrantsTable") or stack.condition("UsesWebhook"))


class Operations(unittest.TestCase):
    """Alarms and the dashboard name metrics the functions emit."""

    def emitted(self) -> set[str]:
        src = (ROOT / "crates" / "aws" / "src" / "metrics.rs").read_text()
        names = set(re.findall(r'pub const [A-Z_]+: &str = "([A-Za-z]+)";', src))
        self.assertIn("Requests", names)
        return names

    def test_alarms_and_dashboard_name_emitted_metrics(self):
        emitted = self.emitted()
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        ours = stack.eval({"Fn::Sub": "hlsgate/${AWS::StackName}"})
        self.assertEqual(self.env_of_all(stack), {ours})
        alarms = [n for n, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
        self.assertGreaterEqual(len(alarms), 11)
        topic = stack.eval({"Ref": "AlarmsTopic"})
        for a in alarms:
            props = stack.properties(a)
            self.assertEqual(props["AlarmActions"], [topic], a)
            stats = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
            for m in stats:
                if "MetricName" not in m:
                    continue
                if m["Namespace"] == ours:
                    self.assertIn(m["MetricName"], emitted, a)
                else:
                    self.assertTrue(m["Namespace"].startswith("AWS/"), a)
        body = json.loads(stack.properties("Dashboard")["DashboardBody"])
        text = json.dumps(body)
        for name in re.findall(r'MetricName=\\"([A-Za-z]+)\\"', text):
            self.assertIn(name, emitted)
        for w in body["widgets"]:
            for m in w["properties"]["metrics"]:
                if isinstance(m, list) and m[0] == ours:
                    self.assertIn(m[1], emitted, w["properties"]["title"])
        for required in ("Requests", "Refusals", "Signatures", "CacheHits", "BytesOut", "UrisSigned", "JobsFailed", "OriginSecretMismatches"):
            self.assertIn(required, text)

    def env_of_all(self, stack: Stack) -> set[str]:
        return {
            stack.properties(f)["Environment"]["Variables"]["METRICS_NAMESPACE"]
            for f in FUNCTIONS
            if stack.resource_exists(f)
        }

    def test_the_function_dimension_is_each_crates_name(self):
        for function, (binary, crate) in FUNCTIONS.items():
            src = "\n".join(f.read_text() for f in (ROOT / crate / "src").rglob("*.rs"))
            self.assertIn(f'pub const FUNCTION: &str = "{binary}";', src, crate)


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


class Edge(unittest.TestCase):
    """infra/edge.yaml: the us-east-1 add-ons the main stack points at."""

    def setUp(self):
        from samtranslator.yaml_helper import yaml_parse

        self.edge = yaml_parse((ROOT / "infra" / "edge.yaml").read_text())

    def test_the_logs_keep_the_same_fields_as_the_main_template(self):
        main = TEMPLATE["Resources"]["CdnAccessLogDelivery"]["Properties"]["RecordFields"]
        edge = self.edge["Resources"]["CdnAccessLogDelivery"]["Properties"]["RecordFields"]
        self.assertEqual(edge, main)
        for secret_bearing in ("cs-uri-query", "cs(Cookie)", "cs(Referer)"):
            self.assertNotIn(secret_bearing, main)

    def test_the_web_acl_limits_playback_per_ip_and_runs_the_common_rules(self):
        acl = self.edge["Resources"]["WebAcl"]["Properties"]
        self.assertEqual(acl["Scope"], "CLOUDFRONT")
        rules = {r["Name"]: r["Statement"] for r in acl["Rules"]}
        rate = rules["playback-rate-per-ip"]["RateBasedStatement"]
        self.assertEqual(rate["AggregateKeyType"], "IP")
        self.assertEqual(rate["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"], "/playback/")
        self.assertEqual(rules["aws-common-rule-set"]["ManagedRuleGroupStatement"]["Name"], "AWSManagedRulesCommonRuleSet")
        redacted = self.edge["Resources"]["WebAclLogging"]["Properties"]["RedactedFields"]
        self.assertIn({"QueryString": {}}, redacted)
        # The main template accepts the ACL's ARN shape.
        pattern = TEMPLATE["Parameters"]["WebAclArn"]["AllowedPattern"]
        self.assertRegex(SCENARIOS["REST API origin, a web ACL, alarms by e-mail, capped concurrency"]["WebAclArn"], pattern)


class RuntimeStub:
    """Lambda's Runtime API for one event: hands it out, keeps the answer,
    then holds the next poll until the test stops the process."""

    def __init__(self, event: dict):
        import http.server
        import threading

        stub = self
        self.answer: dict | None = None
        self.answered = threading.Event()
        event_body = json.dumps(event).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if stub.answered.is_set():
                    stub.answered.wait(30)
                    return
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", "req-emf-1")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(event_body)))
                self.end_headers()
                self.wfile.write(event_body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stub.answer = json.loads(body or b"{}")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                stub.answered.set()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class Metrics(unittest.TestCase):
    def test_the_real_binary_writes_emf_beside_its_log_lines(self):
        """The rewriter binary, with the template's environment (the origin
        secret as a literal: nothing answers for AWS here), gets one
        playlist event with a wrong origin secret from a stand-in Runtime
        API; its stdout holds the request's log lines and one EMF document
        CloudWatch would turn into metrics."""
        stack = Stack(TEMPLATE, SCENARIOS["one ECDSA key, claim entitlement"])
        env = Functions.env_of(self, stack, "RewriterFunction")
        env.pop("ORIGIN_SECRET_ARN")
        env["ORIGIN_SECRET"] = "test-only-origin-secret"
        event = json.loads((ROOT / "fixtures" / "events" / "function-url-playlist.json").read_text())
        event["headers"]["x-origin-verify"] = "a-guess"
        stub = RuntimeStub(event)
        path, full = binary_and_env("manifest-rewriter", env, runtime_api=stub.address)
        proc = subprocess.Popen([str(path)], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(stub.answered.wait(30), "no answer from the function")
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
            stub.close()
        self.assertEqual(stub.answer["statusCode"], 403, stub.answer)
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        docs = [l for l in lines if "_aws" in l]
        self.assertEqual(len(docs), 1, (out, err))
        doc = docs[0]
        (directive,) = [d for d in doc["_aws"]["CloudWatchMetrics"] if d["Metrics"][0]["Name"] == "OriginSecretMismatches"]
        self.assertEqual(directive["Namespace"], env["METRICS_NAMESPACE"])
        self.assertEqual(doc["Function"], "manifest-rewriter")
        self.assertEqual((doc["Requests"], doc["StatusClass"]), (1, "4xx"))
        self.assertEqual(doc["Reason"], "origin_secret_mismatch")
        self.assertEqual(doc["OriginSecretMismatches"], 1)
        # Every dimension a directive names is a member of the document.
        for d in doc["_aws"]["CloudWatchMetrics"]:
            for dims in d["Dimensions"]:
                for name in dims:
                    self.assertIn(name, doc)
        logged = [l for l in lines if "_aws" not in l]
        self.assertTrue(any("refused" in json.dumps(l) for l in logged), out)
        self.assertNotIn("a-guess", out + err, "the presented value is never logged")


class Docs(unittest.TestCase):
    def test_the_deploy_guide_lists_every_parameter(self):
        text = (ROOT / "docs" / "deploy.md").read_text()
        table = text.split("**Parameters**", 1)[1].split("**Outputs**", 1)[0]
        documented = set()
        for row in table.splitlines():
            if row.startswith("| `"):
                first = row.split("|")[1]
                documented.update(re.findall(r"`([A-Z][A-Za-z0-9]+)`", first))
        self.assertEqual(sorted(documented ^ set(TEMPLATE["Parameters"])), [])

    def test_the_deploy_guide_lists_every_output(self):
        text = (ROOT / "docs" / "deploy.md").read_text()
        outputs = text.split("**Outputs**", 1)[1].split("\n\n", 1)[0]
        self.assertEqual(sorted(set(re.findall(r"`([A-Za-z0-9]+)`", outputs)) ^ set(TEMPLATE["Outputs"])), [])
