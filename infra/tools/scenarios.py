"""Parameter sets the template is checked with: by infra/tests (rules, the
binaries' configuration) and, resolved, by cfn-guard (infra/tools/resolve.py).

Keys are the test-only conformance keys in fixtures/.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "fixtures" / "conformance" / "keys"
ECDSA_PEM = (KEYS / "test-ecdsa-p256-public.pem").read_text()
RSA_PEM = (KEYS / "test-rsa2048-public.pem").read_text()


BASE = {
    "SigningPublicKey1": ECDSA_PEM,
    "JwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    "JwtAudience": "client-one,client-two",
    "EntitlementClaim": "cognito:groups",
    "EntitlementValues": "subscribers,staff",
}

SCENARIOS = {
    "one ECDSA key, claim entitlement": dict(BASE),
    "two keys (rotation), cookies on an alias, IP binding, progress": dict(
        BASE,
        SigningPublicKey2=RSA_PEM,
        CdnAliasDomain="cdn.example.com",
        CdnCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/0b8d3b1e-1111-2222-3333-444455556666",
        CookieDomain="example.com",
        PlayerOrigins="https://player.example.com,https://www.example.com",
        UploadOrigins="https://studio.example.com",
        BindViewerIp="true",
        NotifyProgress="true",
        Encoding="auto",
        NotificationEmail="video-team@example.com",
        OriginSecretVersionId="a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    ),
    "slot 1 retired, key in slot 2, any viewer": dict(
        BASE,
        SigningPublicKey1="",
        SigningPublicKey2=RSA_PEM.replace("\n", "\r\n"),
        EntitlementClaim="",
        EntitlementValues="",
        EntitlementAnyViewer="true",
        # Keys written into the jobs, for accounts without the provider's API.
        KeyExchange="static",
    ),
    "REST API origin, a web ACL, alarms by e-mail, capped concurrency": dict(
        BASE,
        RewriterOrigin="api",
        WebAclArn="arn:aws:wafv2:us-east-1:123456789012:global/webacl/hlsgate-edge/0b8d3b1e-1111-2222-3333-444455556666",
        AlarmEmail="oncall@example.com",
        RewriterReservedConcurrency="200",
        IssuerReservedConcurrency="50",
        JobsReservedConcurrency="5",
        IssuerRateLimit="20",
        IssuerBurstLimit="40",
    ),
    "host-only cookies on the distribution's own domain": dict(
        BASE,
        HostOnlyCookies="true",
        BindViewerIp="true",
    ),
    "a grants table the stack creates, with collections": dict(
        BASE,
        UploadOrigins="https://studio.example.com,https://www.example.com",
        Entitlement="dynamodb",
        EntitlementVideosWildcards="true",
        MaxStreams="2",
        SignatureSeconds="120",
    ),
    "an existing grants table, no claim rule, one territory": dict(
        BASE,
        GeoRestriction="allow",
        GeoRestrictionCountries="DE,AT,CH",
        UnknownCountry="allow",
        EntitlementClaim="",
        EntitlementValues="",
        Entitlement="dynamodb",
        GrantsTableName="shop-grants",
        EntitlementCacheSeconds="2",
        MaxStreams="3",
        StreamLimit="evict-oldest",
        SessionGraceSeconds="900",
    ),
    "a webhook with two claims": dict(
        BASE,
        GeoRestriction="deny",
        GeoRestrictionCountries="KP,IR",
        Entitlement="webhook",
        EntitlementUrl="https://shop.example.com/hlsgate/entitled",
        EntitlementClaims="cognito:groups,email",
    ),
    "unencrypted ladders, stateless sessions": dict(BASE, Encryption="none", Sessions="stateless"),
    "a DRM vendor's FairPlay ladder over its SPEKE endpoint": dict(
        BASE,
        Encryption="sample-aes",
        SpekeUrl="https://abcdef1234.execute-api.us-east-1.amazonaws.com/speke/v2",
        SpekeSystemIds="94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
        SpekeCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/0d3b7c4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
    ),
    "videos claim only, with wildcards": dict(
        BASE,
        EntitlementClaim="",
        EntitlementValues="",
        EntitlementVideosClaim="custom:videos",
        EntitlementVideosWildcards="true",
    ),
}

# Parameter sets the template's Rules refuse, each with words of its reason
# (infra/cdk refuses them with the same words).
REFUSED = [
    (dict(BASE, SigningPublicKey1=""), "at least one public key"),
    (dict(BASE, EntitlementClaim="", EntitlementValues=""), "Say who may watch"),
    (dict(BASE, EntitlementValues=""), "go together"),
    (dict(BASE, EntitlementVideosWildcards="true"), "needs EntitlementVideosClaim"),
    (dict(BASE, Entitlement="webhook"), "needs EntitlementUrl"),
    (dict(BASE, EntitlementUrl="https://shop.example.com/x"), "needs EntitlementUrl"),
    (dict(BASE, GrantsTableName="shop-grants"), "for Entitlement=dynamodb"),
    (dict(BASE, EntitlementClaims="email"), "for Entitlement=webhook"),
    (
        dict(BASE, EntitlementClaim="", EntitlementValues="", EntitlementAnyViewer="true", Entitlement="dynamodb"),
        "would never ask",
    ),
    (dict(BASE, Sessions="stateless", MaxStreams="2"), "MaxStreams needs Sessions=table"),
    (dict(BASE, StreamLimit="evict-oldest"), "needs MaxStreams"),
    (dict(BASE, Encryption="sample-aes"), "DRM vendor's"),
    (dict(BASE, Encryption="sample-aes", KeyExchange="static"), "needs KeyExchange=speke"),
    (dict(BASE, KeyExchange="static", SpekeUrl="https://k.example.com/x"), "are for KeyExchange=speke"),
    (dict(BASE, SpekeSystemIds="94ce86fb-07ff-4f43-adb8-93d2fa968ca2"), "are for a vendor's SpekeUrl"),
    (dict(BASE, GeoRestriction="allow"), "needs GeoRestrictionCountries"),
    (dict(BASE, GeoRestrictionCountries="DE"), "needs GeoRestrictionCountries"),
    (dict(BASE, CdnAliasDomain="cdn.example.com"), "CdnAliasDomain and CdnCertificateArn"),
    (dict(BASE, HostOnlyCookies="true", CookieDomain="example.com"), "not both"),
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

# Values the template's patterns refuse, and the parameter each breaks.
REFUSED_BY_PATTERN = [
    # What SAM made of keygen's old hint: the PEM cut at its first space.
    (dict(BASE, SigningPublicKey1="-----BEGIN"), "SigningPublicKey1"),
    (dict(BASE, JwtIssuer="http://issuer.example.com"), "JwtIssuer"),
    (dict(BASE, CdnCertificateArn="arn:aws:acm:eu-west-1:123456789012:certificate/x"), "CdnCertificateArn"),
    # Browser uploads name their pages; * would let any site use a part URL.
    (dict(BASE, UploadOrigins="*"), "UploadOrigins"),
    (dict(BASE, UploadOrigins="https://studio.example.com,*"), "UploadOrigins"),
    (dict(BASE, SessionGraceSeconds="soon"), "SessionGraceSeconds"),
    (dict(BASE, SpekeUrl="http://keys.example.com/speke"), "SpekeUrl"),
    (dict(BASE, SpekeUrl="https://user@keys.example.com/speke"), "SpekeUrl"),
    (dict(BASE, SpekeSystemIds="fairplay"), "SpekeSystemIds"),
    (dict(BASE, GeoRestriction="deny", GeoRestrictionCountries="de"), "GeoRestrictionCountries"),
    (dict(BASE, GeoRestriction="deny", GeoRestrictionCountries="DE,"), "GeoRestrictionCountries"),
]
