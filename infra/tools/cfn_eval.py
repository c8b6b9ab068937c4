"""A small evaluator of CloudFormation intrinsic functions, for offline checks.

It resolves a transformed (plain CloudFormation) template for one set of
parameter values: conditions, rules, and the properties of any resource, with
made-up but well-formed values for what only exists after a deploy (resource
ids, ARNs, domains). What it cannot know, it refuses to guess: an unknown
function or attribute raises `Unresolvable`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "hlsgate-check"

NO_VALUE = object()


class Unresolvable(Exception):
    pass


class ResourceRef(str):
    """A made-up value that came straight from `Ref` to a resource. It acts as
    the string, and `Stack.resolved` writes it back as `{"Ref": name}`, so rules
    that relate resources (this policy is on that bucket) still can."""

    def __new__(cls, value: str, name: str):
        obj = super().__new__(cls, value)
        obj.name = name
        return obj


def _with_refs(node: Any) -> Any:
    if isinstance(node, ResourceRef):
        return {"Ref": node.name}
    if isinstance(node, list):
        return [_with_refs(x) for x in node]
    if isinstance(node, dict):
        return {k: _with_refs(v) for k, v in node.items()}
    return node


def _suffix(name: str, n: int = 8) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def _key_id(name: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    digest = hashlib.sha256(name.encode()).digest()
    return "K" + "".join(alphabet[b % len(alphabet)] for b in digest[:13])


def _ref(rtype: str, name: str) -> str:
    """What `Ref` returns for a resource of this type, made up but well formed."""
    s = _suffix(name)
    by_type = {
        "AWS::S3::Bucket": f"{STACK}-{name.lower()}-{s}",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{s[:6]}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-{name}-{s}",
        "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}-{s}",
        "AWS::CloudFront::PublicKey": _key_id(name),
        "AWS::CloudFront::KeyGroup": f"{s}-{_suffix(name + 'k', 4)}",
        "AWS::CloudFront::Distribution": "E" + _key_id(name)[1:],
        "AWS::CloudFront::ResponseHeadersPolicy": f"{s}-{_suffix(name + 'r', 4)}",
        "AWS::CloudFront::OriginRequestPolicy": f"{s}-{_suffix(name + 'o', 4)}",
        "AWS::IAM::Role": f"{STACK}-{name}-{s}",
        "AWS::Logs::LogGroup": f"{STACK}-{name}-{s}",
        "AWS::Lambda::Function": f"{STACK}-{name}-{s}",
        "AWS::ApiGateway::RestApi": s[:10],
        "AWS::ApiGatewayV2::Api": s[:10],
        "AWS::ApiGateway::Deployment": s[:6],
        "AWS::Events::Rule": f"{STACK}-{name}-{s}",
        "AWS::CloudFront::CachePolicy": f"{s}-{_suffix(name + 'c', 4)}",
        "AWS::CloudFront::Function": f"{STACK}-{name}",
        "AWS::ApiGatewayV2::Authorizer": s[:6],
        "AWS::ApiGatewayV2::Integration": s[:7],
        "AWS::Logs::DeliverySource": f"{STACK}-{name}",
        "AWS::CloudWatch::Dashboard": f"{STACK}-{name}",
        "AWS::DynamoDB::Table": f"{STACK}-{name}-{s}",
    }
    if rtype not in by_type:
        raise Unresolvable(f"Ref to {name} ({rtype})")
    return by_type[rtype]


def _getatt(rtype: str, name: str, attr: str) -> str:
    s = _suffix(name)
    try:
        ref = _ref(rtype, name)
    except Unresolvable:
        ref = None
    table = {
        ("AWS::S3::Bucket", "Arn"): f"arn:aws:s3:::{ref}",
        ("AWS::S3::Bucket", "RegionalDomainName"): f"{ref}.s3.{REGION}.amazonaws.com",
        ("AWS::CloudFront::Distribution", "DomainName"): f"d{s}abcdef.cloudfront.net",
        ("AWS::CloudFront::OriginAccessControl", "Id"): "E" + _key_id(name)[1:],
        ("AWS::IAM::Role", "Arn"): f"arn:aws:iam::{ACCOUNT}:role/{ref}",
        ("AWS::Logs::LogGroup", "Arn"): f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{ref}:*",
        ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{name}-{s}",
        ("AWS::Lambda::Function", "Arn"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{ref}",
        ("AWS::Events::Rule", "Arn"): f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{ref}",
        ("AWS::Lambda::Url", "FunctionUrl"): f"https://{s}{s[:8]}.lambda-url.{REGION}.on.aws/",
        ("AWS::CloudFront::Function", "FunctionMetadata.FunctionARN"): f"arn:aws:cloudfront::{ACCOUNT}:function/{STACK}-{name}",
        ("AWS::Logs::DeliveryDestination", "Arn"): f"arn:aws:logs:{REGION}:{ACCOUNT}:delivery-destination:{STACK}-{name}",
        ("AWS::SQS::Queue", "QueueName"): f"{STACK}-{name}-{s}",
        ("AWS::DynamoDB::Table", "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ref}",
    }
    if (rtype, attr) not in table:
        raise Unresolvable(f"GetAtt {name}.{attr} ({rtype})")
    return table[(rtype, attr)]


class Stack:
    """One template resolved against one set of parameter values."""

    def __init__(self, template: dict, params: dict[str, str]):
        self.t = template
        self.params: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in params:
                value = params[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise Unresolvable(f"parameter {name} has no value and no default")
            value = str(value)
            if spec.get("Type") == "CommaDelimitedList":
                value = value.split(",")
            self.params[name] = value
        unknown = set(params) - set(self.params)
        if unknown:
            raise Unresolvable(f"unknown parameters {sorted(unknown)}")
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::StackName": STACK,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        self._conditions: dict[str, bool] = {}

    # -- conditions and rules
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.eval(self.t["Conditions"][name]))
        return self._conditions[name]

    def resource_exists(self, name: str) -> bool:
        cond = self.t["Resources"][name].get("Condition")
        return cond is None or self.condition(cond)

    def failed_rules(self) -> list[str]:
        """Descriptions of the Rules assertions these parameters break."""
        failed = []
        for rule in self.t.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.eval(rule["RuleCondition"]):
                continue
            for a in rule["Assertions"]:
                if not self.eval(a["Assert"]):
                    failed.append(a.get("AssertDescription", "?"))
        return failed

    def pattern_violations(self) -> list[str]:
        """Parameters whose value breaks AllowedPattern or AllowedValues."""
        bad = []
        for name, spec in self.t.get("Parameters", {}).items():
            value = self.params[name]
            values = value if isinstance(value, list) else [value]
            for v in values:
                if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], v):
                    bad.append(name)
                if "AllowedValues" in spec and v not in [str(x) for x in spec["AllowedValues"]]:
                    bad.append(name)
        return bad

    # -- properties
    def resolved(self) -> dict:
        """The resources this stack creates, every property a plain value:
        what cfn-guard judges, one parameter set at a time."""
        resources = {}
        for name, res in self.t["Resources"].items():
            if not self.resource_exists(name):
                continue
            out = {k: v for k, v in res.items() if k not in ("Condition", "Properties")}
            out["Properties"] = _with_refs(self.properties(name))
            resources[name] = out
        return {"Resources": resources}

    def properties(self, name: str) -> dict:
        return self.eval(self.t["Resources"][name].get("Properties", {}))

    def eval(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.eval(x) for x in node]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (k, v), = node.items()
            if k == "Ref":
                return self._ref(v)
            if k == "Condition":
                return self.condition(v)
            if k.startswith("Fn::"):
                return self._fn(k[4:], v)
        out = {k: self.eval(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        res = self.t["Resources"].get(name)
        if res is None:
            raise Unresolvable(f"Ref to unknown {name}")
        if not self.resource_exists(name):
            raise Unresolvable(f"Ref to {name}, which this stack does not create")
        return ResourceRef(_ref(res["Type"], name), name)

    def _fn(self, fn: str, v: Any) -> Any:
        if fn == "If":
            cond, yes, no = v
            return self.eval(yes if self.condition(cond) else no)
        if fn == "Equals":
            a, b = (self.eval(x) for x in v)
            return a == b
        if fn == "Not":
            return not self.eval(v[0])
        if fn == "And":
            return all(self.eval(x) for x in v)
        if fn == "Or":
            return any(self.eval(x) for x in v)
        if fn == "Join":
            sep, items = v
            return self.eval(sep).join(self.eval(items))
        if fn == "Split":
            sep, s = v
            return self.eval(s).split(self.eval(sep))
        if fn == "Select":
            i, items = v
            return self.eval(items)[int(self.eval(i))]
        if fn == "GetAtt":
            name, attr = v if isinstance(v, list) else v.split(".", 1)
            res = self.t["Resources"][name]
            return _getatt(res["Type"], name, attr)
        if fn == "Sub":
            text, extra = (v, {}) if isinstance(v, str) else (v[0], self.eval(v[1]))
            return self._sub(text, extra)
        raise Unresolvable(f"Fn::{fn}")

    def _sub(self, text: str, extra: dict) -> str:
        def one(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name:
                res, attr = name.split(".", 1)
                return _getatt(self.t["Resources"][res]["Type"], res, attr)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)
