import { Aws, CfnCondition, Fn } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { type Context, denyInsecure, ORIGIN_HEADER, PREFIXES, PUBLIC_ORIGIN_HEADER, policy } from './common';
import { REASONS, skip } from './reasons';
import { mediaObjects, type Storage } from './storage';

const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const SECURITY_HEADERS = '67f7725c-6f97-4210-82d7-5512b31e9d03';

/** The key slots and the key group CloudFront checks signatures with. */
export interface Signers {
  readonly publicKey1?: cloudfront.CfnPublicKey;
  readonly publicKey2?: cloudfront.CfnPublicKey;
  readonly keyGroup: cloudfront.CfnKeyGroup;
}

export function signers(ctx: Context): Signers {
  const slot = (n: 1 | 2, pem: string) =>
    new cloudfront.CfnPublicKey(ctx.scope, `PublicKey${n}`, {
      publicKeyConfig: {
        name: `${ctx.stackName}-slot${n}`,
        callerReference: `${ctx.stackName}-slot${n}`,
        comment: `hlsgate signing key, slot ${n}`,
        encodedKey: pem,
      },
    });
  const publicKey1 = ctx.hasKey1 ? slot(1, ctx.p.SigningPublicKey1) : undefined;
  const publicKey2 = ctx.hasKey2 ? slot(2, ctx.p.SigningPublicKey2) : undefined;
  const keyGroup = new cloudfront.CfnKeyGroup(ctx.scope, 'KeyGroup', {
    keyGroupConfig: {
      name: `${ctx.stackName}-signers`,
      comment: 'Keys whose signatures CloudFront accepts for hlsgate videos',
      items: [publicKey1, publicKey2].filter((k) => k !== undefined).map((k) => k.ref),
    },
  });
  return { publicKey1, publicKey2, keyGroup };
}

/** What every custom origin gets: HTTPS with TLS 1.2, and the origin secret
 * (its pinned version after a rotation, docs/deploy.md). */
export function customOrigin(ctx: Context, s: Storage) {
  const secret = s.originSecret.ref;
  const version = ctx.p.OriginSecretVersionId;
  return {
    verify: {
      headerName: ORIGIN_HEADER,
      headerValue:
        version !== ''
          ? `{{resolve:secretsmanager:${secret}:SecretString:::${version}}}`
          : `{{resolve:secretsmanager:${secret}:SecretString}}`,
    },
    tls: { originProtocolPolicy: 'https-only', originSslProtocols: ['TLSv1.2'] },
  };
}

export interface Origins {
  readonly rewriter: cloudfront.CfnDistribution.OriginProperty;
  /** The issuer's HTTP API's domain. */
  readonly issuerDomain: string;
}

export interface Edge {
  readonly distribution: cloudfront.CfnDistribution;
  /** arn:…:cloudfront::ACCOUNT:distribution/ID, what the permissions name. */
  readonly distributionArn: string;
  /** The domain viewers play from: the alias, or CloudFront's own. */
  readonly cdnDomain: string;
}

/** The distribution: segments from the media bucket (OAC), playlists and keys
 * from the rewriter, /playback/* from the issuer; its policies, its
 * viewer-request function, the media bucket's policy and its access logs. */
export function edge(ctx: Context, s: Storage, keys: Signers, origins: Origins): Edge {
  const scope = ctx.scope;
  const name = (suffix: string) => `${ctx.stackName}-${suffix}`;
  const mediaOac = new cloudfront.CfnOriginAccessControl(scope, 'MediaOriginAccessControl', {
    originAccessControlConfig: {
      name: name('media'),
      originAccessControlOriginType: 's3',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    },
  });
  // The viewer's origin, for the rewriter: the public URLs it verifies and
  // resolves against (CloudFront routes here only for its own hosts, and the
  // function overwrites whatever a viewer sent under this name).
  const publicOrigin = new cloudfront.CfnFunction(scope, 'PublicOriginFunction', {
    name: name('public-origin'),
    autoPublish: true,
    functionConfig: {
      comment: 'hlsgate - tell the manifest-rewriter the origin the viewer used',
      runtime: 'cloudfront-js-2.0',
    },
    functionCode: [
      'function handler(event) {',
      '  var request = event.request;',
      '  var host = request.headers.host ? request.headers.host.value.toLowerCase() : "";',
      '  request.headers["x-hlsgate-origin"] = { value: "https://" + host };',
      '  return request;',
      '}',
      '',
    ].join('\n'),
  });
  // Playlists: never cached; the signed copy, the signed cookies, the
  // viewer's address and origin forwarded; Host not (the origins route on it).
  const signed = ['Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm', 'Expires'];
  const playlists = new cloudfront.CfnOriginRequestPolicy(scope, 'PlaylistOriginRequestPolicy', {
    originRequestPolicyConfig: {
      name: name('playlists'),
      comment: 'hlsgate playlists to the manifest-rewriter',
      headersConfig: {
        headerBehavior: 'whitelist',
        headers: ['Accept-Encoding', 'CloudFront-Viewer-Address', 'Origin', PUBLIC_ORIGIN_HEADER],
      },
      cookiesConfig: { cookieBehavior: 'whitelist', cookies: signed.map((n) => `CloudFront-${n}`) },
      queryStringsConfig: { queryStringBehavior: 'whitelist', queryStrings: signed.map((n) => `${n}-PREFIX`) },
    },
  });
  // The issuer: nothing cached, Authorization forwarded (only a cache key
  // forwards it), ?mode=, and the viewer's address.
  const issuerCache = new cloudfront.CfnCachePolicy(scope, 'IssuerCachePolicy', {
    cachePolicyConfig: {
      name: name('playback'),
      comment: 'hlsgate issuer - forwards Authorization, caches nothing',
      minTtl: 0,
      defaultTtl: 0,
      maxTtl: 1,
      parametersInCacheKeyAndForwardedToOrigin: {
        enableAcceptEncodingGzip: false,
        enableAcceptEncodingBrotli: false,
        headersConfig: { headerBehavior: 'whitelist', headers: ['Authorization'] },
        cookiesConfig: { cookieBehavior: 'none' },
        queryStringsConfig: { queryStringBehavior: 'whitelist', queryStrings: ['mode', 'device'] },
      },
    },
  });
  const issuerRequests = new cloudfront.CfnOriginRequestPolicy(scope, 'IssuerOriginRequestPolicy', {
    originRequestPolicyConfig: {
      name: name('playback'),
      comment: 'hlsgate issuer - the viewer address and country, the CORS origin and the page',
      headersConfig: {
        headerBehavior: 'whitelist',
        // The viewer's country and page, for the playback rules; the issuer
        // trusts the country only with the origin secret beside it.
        headers: [
          'CloudFront-Viewer-Address',
          'CloudFront-Viewer-Country',
          'Origin',
          'Referer',
          'Access-Control-Request-Method',
          'Access-Control-Request-Headers',
        ],
      },
      cookiesConfig: { cookieBehavior: 'none' },
      queryStringsConfig: { queryStringBehavior: 'none' },
    },
  });
  const player = new cloudfront.CfnResponseHeadersPolicy(scope, 'PlayerResponseHeadersPolicy', {
    responseHeadersPolicyConfig: {
      name: name('player'),
      comment: 'CORS for the player pages; HSTS',
      corsConfig: {
        accessControlAllowCredentials: !ctx.anyPlayerOrigin,
        accessControlAllowHeaders: { items: ['Range', 'Origin', 'Accept'] },
        accessControlAllowMethods: { items: ['GET', 'HEAD', 'OPTIONS'] },
        accessControlAllowOrigins: { items: ctx.origins },
        accessControlExposeHeaders: { items: ['Content-Length', 'Content-Range'] },
        accessControlMaxAgeSec: 600,
        originOverride: true,
      },
      securityHeadersConfig: {
        strictTransportSecurity: { accessControlMaxAgeSec: 63072000, includeSubdomains: false, override: true },
        contentTypeOptions: { override: true },
      },
    },
  });

  const { verify, tls } = customOrigin(ctx, s);
  const methods = { allowedMethods: ['GET', 'HEAD', 'OPTIONS'], cachedMethods: ['GET', 'HEAD'] };
  const distribution = new cloudfront.CfnDistribution(scope, 'Distribution', {
    distributionConfig: {
      enabled: true,
      comment: `hlsgate ${ctx.stackName}`,
      httpVersion: 'http2and3',
      // A policy bound to an address holds an IPv4 range only.
      ipv6Enabled: ctx.p.BindViewerIp !== 'true',
      priceClass: ctx.p.PriceClass,
      // A whole catalogue's territory, at the edge; per-video countries are the issuer's.
      restrictions:
        ctx.p.GeoRestriction !== 'none'
          ? {
              geoRestriction: {
                restrictionType: ctx.p.GeoRestriction === 'allow' ? 'whitelist' : 'blacklist',
                locations: ctx.p.GeoRestrictionCountries.split(','),
              },
            }
          : undefined,
      webAclId: ctx.p.WebAclArn !== '' ? ctx.p.WebAclArn : undefined,
      aliases: ctx.hasAlias ? [ctx.p.CdnAliasDomain] : undefined,
      viewerCertificate: ctx.hasAlias
        ? {
            acmCertificateArn: ctx.p.CdnCertificateArn,
            sslSupportMethod: 'sni-only',
            minimumProtocolVersion: 'TLSv1.2_2021',
          }
        : { cloudFrontDefaultCertificate: true },
      origins: [
        {
          id: 'media',
          domainName: s.mediaBucket.attrRegionalDomainName,
          originAccessControlId: mediaOac.attrId,
          s3OriginConfig: { originAccessIdentity: '' },
        },
        origins.rewriter,
        { id: 'issuer', domainName: origins.issuerDomain, customOriginConfig: tls, originCustomHeaders: [verify] },
      ],
      defaultCacheBehavior: {
        targetOriginId: 'media',
        viewerProtocolPolicy: 'https-only',
        trustedKeyGroups: [keys.keyGroup.ref],
        ...methods,
        compress: true,
        cachePolicyId: CACHING_OPTIMIZED,
        responseHeadersPolicyId: player.ref,
      },
      cacheBehaviors: [
        // Signatures are handed out here, so none is asked for.
        {
          pathPattern: '/playback/*',
          targetOriginId: 'issuer',
          viewerProtocolPolicy: 'https-only',
          // POST renews a session, DELETE ends one (API Gateway routes no
          // PUT or PATCH: a 404); CloudFront caches none of them.
          allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          cachedMethods: methods.cachedMethods,
          compress: false,
          cachePolicyId: issuerCache.ref,
          originRequestPolicyId: issuerRequests.ref,
          responseHeadersPolicyId: SECURITY_HEADERS,
        },
        // An encrypted ladder's key, then the playlists: to the rewriter.
        ...['*/hls.key', '*.m3u8'].map((pathPattern) => ({
          pathPattern,
          targetOriginId: 'rewriter',
          viewerProtocolPolicy: 'https-only',
          trustedKeyGroups: [keys.keyGroup.ref],
          ...methods,
          compress: false,
          cachePolicyId: CACHING_DISABLED,
          originRequestPolicyId: playlists.ref,
          responseHeadersPolicyId: player.ref,
          functionAssociations: [
            { eventType: 'viewer-request', functionArn: publicOrigin.attrFunctionMetadataFunctionArn },
          ],
        })),
      ],
    },
  });
  distribution.addMetadata('cfn-lint', { config: { ignore_checks: ['W1030'] } });
  skip(
    distribution,
    {
      nag: ['AwsSolutions-CFR1'],
      reason:
        "Who may watch is decided per viewer by the entitlement check; where may watch is the team's to add (a geo rule in the web ACL).",
    },
    {
      checkov: 'CKV_AWS_68',
      nag: ['AwsSolutions-CFR2'],
      reason:
        'The WebAclArn parameter attaches a CloudFront-scope web ACL (infra/edge.yaml); it must be created in us-east-1, outside this stack.',
    },
    {
      checkov: 'CKV_AWS_86',
      nag: ['AwsSolutions-CFR3'],
      reason:
        'Standard logging v2 (CdnAccessLogDelivery), not the legacy Logging property, which always logs query strings, and ours carry signatures.',
    },
    {
      checkov: 'CKV_AWS_174',
      nag: ['AwsSolutions-CFR4'],
      reason:
        "Without an alias CloudFront's default certificate fixes the viewer minimum; with CdnAliasDomain it is TLSv1.2_2021 (guard rule cloudfront_tls_minimum).",
    },
  );
  const distributionArn = `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:distribution/${distribution.ref}`;

  new s3.CfnBucketPolicy(scope, 'MediaBucketPolicy', {
    bucket: s.mediaBucket.ref,
    policyDocument: policy(denyInsecure(s.mediaBucket), {
      Sid: 'CloudFrontReadsVideosOnly',
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource: mediaObjects(s, `${PREFIXES.videos}*`),
      Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } },
    }),
  });
  accessLogs(ctx, distributionArn);
  return {
    distribution,
    distributionArn,
    cdnDomain: ctx.hasAlias ? ctx.p.CdnAliasDomain : distribution.attrDomainName,
  };
}

/** CloudFront's standard logs (v2) into CloudWatch Logs, never the query
 * string, cookies or referer (they carry signatures). CloudWatch Logs delivers
 * them from us-east-1 only; elsewhere infra/edge.yaml sets them up there. */
function accessLogs(ctx: Context, distributionArn: string): void {
  const scope = ctx.scope;
  const group = new logs.CfnLogGroup(scope, 'CdnAccessLogs', {
    logGroupName: `/aws/vendedlogs/hlsgate/${ctx.stackName}/cloudfront`,
    retentionInDays: ctx.retention,
  });
  skip(group, { checkov: 'CKV_AWS_158', reason: REASONS.logsKey });
  const source = new logs.CfnDeliverySource(scope, 'CdnAccessLogSource', {
    name: `${ctx.stackName}-cloudfront`,
    logType: 'ACCESS_LOGS',
    resourceArn: distributionArn,
  });
  const destination = new logs.CfnDeliveryDestination(scope, 'CdnAccessLogDestination', {
    name: `${ctx.stackName}-cloudfront`,
    outputFormat: 'json',
    destinationResourceArn: `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${group.ref}`,
  });
  const delivery = new logs.CfnDelivery(scope, 'CdnAccessLogDelivery', {
    deliverySourceName: source.ref,
    deliveryDestinationArn: destination.attrArn,
    recordFields: [
      'date',
      'time',
      'x-edge-location',
      'x-edge-request-id',
      'x-host-header',
      'c-ip',
      'cs-method',
      'cs-uri-stem',
      'cs-protocol',
      'cs-protocol-version',
      'sc-status',
      'sc-bytes',
      'sc-content-type',
      'time-taken',
      'time-to-first-byte',
      'x-edge-result-type',
      'x-edge-response-result-type',
      'x-edge-detailed-result-type',
      'cs(User-Agent)',
      'ssl-protocol',
    ],
  });
  const inUsEast1 = new CfnCondition(scope, 'InUsEast1', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
  for (const r of [group, source, destination, delivery]) r.cfnOptions.condition = inUsEast1;
}
