import { Aws } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  allow,
  type Context,
  functionRef,
  getSecret,
  lambdaRole,
  logGroup,
  noDlqWhenSync,
  ORIGIN_HEADER,
  PREFIXES,
  rustFunction,
} from './common';
import { skip } from './reasons';
import { mediaObjects, type Storage } from './storage';

/**
 * The issuer's HTTP API, of plain resources: the distribution needs the
 * API's domain and the function needs the distribution's, so the API must
 * not depend on the function. API Gateway answers CORS preflights itself.
 */
export class HttpApi {
  readonly api: apigwv2.CfnApi;
  readonly authorizer: apigwv2.CfnAuthorizer;
  /** {id}.execute-api.REGION.amazonaws.com */
  readonly domain: string;

  constructor(private readonly ctx: Context) {
    this.api = new apigwv2.CfnApi(ctx.scope, 'IssuerApi', {
      name: `${ctx.stackName}-signed-url-issuer`,
      protocolType: 'HTTP',
      corsConfiguration: {
        // The player pages, and the upload pages for the upload routes.
        allowOrigins: ctx.anyPlayerOrigin ? ctx.origins : [...ctx.origins, ...ctx.uploadOrigins],
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        allowCredentials: ctx.hasCookieDomain,
        maxAge: 600,
      },
    });
    this.authorizer = new apigwv2.CfnAuthorizer(ctx.scope, 'IssuerAuthorizer', {
      apiId: this.api.ref,
      name: 'viewer-jwt',
      authorizerType: 'JWT',
      identitySource: ['$request.header.Authorization'],
      jwtConfiguration: { issuer: ctx.p.JwtIssuer, audience: ctx.p.JwtAudience.split(',') },
    });
    this.domain = `${this.api.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
  }

  /** A proxy integration to `fn`. */
  integration(id: string, fn: lambda.Function): apigwv2.CfnIntegration {
    return new apigwv2.CfnIntegration(this.ctx.scope, id, {
      apiId: this.api.ref,
      integrationType: 'AWS_PROXY',
      integrationUri: fn.functionArn,
      payloadFormatVersion: '2.0',
    });
  }

  /** A route behind the JWT authorizer. */
  route(id: string, routeKey: string, to: apigwv2.CfnIntegration): apigwv2.CfnRoute {
    return new apigwv2.CfnRoute(this.ctx.scope, id, {
      apiId: this.api.ref,
      routeKey,
      authorizationType: 'JWT',
      authorizerId: this.authorizer.ref,
      target: `integrations/${to.ref}`,
    });
  }

  /** API Gateway may invoke `fn` for `routes` (STAGE/METHOD/PATH, globs). */
  allowInvoke(id: string, fn: lambda.Function, routes: string): void {
    new lambda.CfnPermission(this.ctx.scope, id, {
      functionName: functionRef(fn),
      action: 'lambda:InvokeFunction',
      principal: 'apigateway.amazonaws.com',
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${this.api.ref}/${routes}`,
    });
  }
}

const PLAYBACK_ROUTE = 'GET /playback/{videoId}';

/** signed-url-issuer: GET /playback/{videoId}, throttled by the stage. */
export function issuer(ctx: Context, s: Storage, http: HttpApi, cdnDomain: string): lambda.Function {
  const p = ctx.p;
  const logs = logGroup(ctx, 'IssuerLogs');
  const role = lambdaRole(ctx, 'IssuerRole', 'signed-url-issuer', logs, [
    allow('ReadSidecarsAndMasters', 's3:GetObject', mediaObjects(s, `${PREFIXES.videos}*`)),
    // Each video's playback rules; the back office writes them, the issuer only reads.
    allow('ReadRules', 's3:GetObject', mediaObjects(s, `${PREFIXES.rules}*`)),
    getSecret('SigningKeys', s.signingKeysSecret),
    getSecret('OriginSecret', s.originSecret),
    getSecret('LogPseudonymKey', s.logHashSecret),
    ...(ctx.usesGrantsTable
      ? [
          allow(
            'ReadGrants',
            ['dynamodb:GetItem', 'dynamodb:Query'],
            s.grantsTable
              ? s.grantsTable.attrArn
              : `arn:${Aws.PARTITION}:dynamodb:${Aws.REGION}:${Aws.ACCOUNT_ID}:table/${p.GrantsTableName}`,
          ),
        ]
      : []),
    ...(s.sessionsTable
      ? [
          allow(
            'Sessions',
            ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
            s.sessionsTable.attrArn,
          ),
        ]
      : []),
    ...(s.entitlementSecret ? [getSecret('WebhookKey', s.entitlementSecret)] : []),
  ]);
  const fn = rustFunction(
    ctx,
    'IssuerFunction',
    'signed-url-issuer',
    role,
    logs,
    {
      description: 'Checks entitlement, hands out one folder signature per video',
      reservedConcurrentExecutions: ctx.cap(p.IssuerReservedConcurrency),
      environment: {
        MEDIA_BUCKET: s.mediaBucket.ref,
        CDN_DOMAIN: cdnDomain,
        SIGNING_KEYS_SECRET_ARN: s.signingKeysSecret.ref,
        ORIGIN_SECRET_ARN: s.originSecret.ref,
        ORIGIN_HEADER,
        METRICS_NAMESPACE: ctx.namespace,
        KEY_PREFIX: PREFIXES.videos,
        ENTITLEMENT_CLAIM: p.EntitlementClaim,
        ENTITLEMENT_VALUES: p.EntitlementValues,
        ENTITLEMENT_VIDEOS_CLAIM: p.EntitlementVideosClaim,
        ENTITLEMENT_VIDEOS_WILDCARDS: p.EntitlementVideosWildcards,
        ENTITLEMENT_ANY_VIEWER: p.EntitlementAnyViewer,
        ENTITLEMENT: p.Entitlement,
        GRANTS_TABLE: s.grantsTableName,
        ENTITLEMENT_URL: ctx.usesWebhook ? p.EntitlementUrl : undefined,
        ENTITLEMENT_SECRET_ARN: s.entitlementSecret?.ref,
        ENTITLEMENT_CLAIMS: ctx.usesWebhook ? p.EntitlementClaims : undefined,
        ENTITLEMENT_CACHE_SECONDS: p.EntitlementCacheSeconds,
        BIND_VIEWER_IP: p.BindViewerIp,
        COOKIE_DOMAIN: ctx.hasCookieDomain ? p.CookieDomain : undefined,
        HOST_ONLY_COOKIES: p.HostOnlyCookies,
        CORS_ALLOWED_ORIGINS: p.PlayerOrigins,
        LOG_HASH_KEY_SECRET_ARN: s.logHashSecret.ref,
        SIGNATURE_SECONDS: p.SignatureSeconds,
        SESSION_GRACE_SECONDS: p.SessionGraceSeconds !== '' ? p.SessionGraceSeconds : undefined,
        SESSIONS_TABLE: s.sessionsTable?.ref,
        MAX_STREAMS: p.MaxStreams,
        STREAM_LIMIT: ctx.limitsStreams ? p.StreamLimit : undefined,
        RULES_PREFIX: PREFIXES.rules,
        UNKNOWN_COUNTRY: p.UnknownCountry,
      },
    },
    [
      noDlqWhenSync('API Gateway'),
      {
        checkov: 'CKV_AWS_117',
        reason:
          "Reaches only S3, Secrets Manager, DynamoDB and (with Entitlement=webhook) the team's public HTTPS endpoint; nothing private, so no VPC (a VPC would add NAT or endpoint costs and cold-start time).",
      },
      {
        checkov: 'CKV_AWS_115',
        reason:
          'Reserved concurrency is the IssuerReservedConcurrency parameter; off by default because a reservation fails on accounts under the new-account quota.',
      },
      {
        checkov: 'CKV_AWS_173',
        reason:
          'No secret in the environment (secrets are ARNs, read at cold start; PUBLIC_KEYS are public); Lambda encrypts it at rest with its own key.',
      },
    ],
  );

  const integration = http.integration('IssuerIntegration', fn);
  const route = http.route('IssuerRoute', PLAYBACK_ROUTE, integration);
  // Sessions (docs/sessions.md): the viewer's list, renewal and ending.
  http.route('IssuerSessionsRoute', 'GET /playback/{videoId}/sessions', integration);
  http.route('IssuerRenewRoute', 'POST /playback/{videoId}/sessions/{sessionId}', integration);
  http.route('IssuerEndRoute', 'DELETE /playback/{videoId}/sessions/{sessionId}', integration);
  // A closing page's navigator.sendBeacon carries no Authorization: the
  // session's end token in the body is the credential, and it ends that
  // one session only (the function checks its MAC).
  const beacon = new apigwv2.CfnRoute(ctx.scope, 'IssuerEndBeaconRoute', {
    apiId: http.api.ref,
    routeKey: 'POST /playback/{videoId}/sessions/{sessionId}/end',
    authorizationType: 'NONE',
    target: `integrations/${integration.ref}`,
  });
  skip(beacon, {
    checkov: 'CKV_AWS_309',
    nag: ['AwsSolutions-APIG4'],
    reason:
      "navigator.sendBeacon cannot send an Authorization header; the body's end token (an HMAC over the subject, video and session) authorises ending that one session and nothing else.",
  });
  const accessLogs = logGroup(ctx, 'IssuerApiAccessLogs');
  const burst = Number(p.IssuerBurstLimit);
  const rate = Number(p.IssuerRateLimit);
  const stage = new apigwv2.CfnStage(ctx.scope, 'IssuerStage', {
    apiId: http.api.ref,
    stageName: '$default',
    autoDeploy: true,
    defaultRouteSettings: { throttlingBurstLimit: burst, throttlingRateLimit: rate },
    routeSettings: { [PLAYBACK_ROUTE]: { ThrottlingBurstLimit: burst, ThrottlingRateLimit: rate } },
    accessLogSettings: {
      destinationArn: accessLogs.attrArn,
      format:
        '{"request_id":"$context.requestId","source_ip":"$context.identity.sourceIp","route":"$context.routeKey","status":"$context.status","latency_ms":"$context.responseLatency","integration_latency_ms":"$context.integrationLatency","lambda_request_id":"$context.integration.requestId","error":"$context.error.message","authorizer_error":"$context.authorizer.error"}',
    },
  });
  // RouteSettings name the route: it must exist when the stage is made.
  stage.addResourceDependency(route);
  // The video and session ids are in the invoking ARN's path; GET, POST and
  // DELETE under /playback/ only.
  http.allowInvoke('IssuerInvokePermission', fn, '*/*/playback/*');
  return fn;
}
