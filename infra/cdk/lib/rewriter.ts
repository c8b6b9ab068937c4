import { Aws, Fn } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  allow,
  type Context,
  functionRef,
  getSecret,
  lambdaProxy,
  lambdaRole,
  logGroup,
  noDlqWhenSync,
  ORIGIN_HEADER,
  PREFIXES,
  PUBLIC_ORIGIN_HEADER,
  rustFunction,
} from './common';
import { customOrigin, type Signers } from './edge';
import { skip } from './reasons';
import { mediaObjects, type Storage } from './storage';

export interface Rewriter {
  readonly fn: lambda.Function;
  /** The distribution's `rewriter` origin: the Function URL or the REST API. */
  readonly origin: cloudfront.CfnDistribution.OriginProperty;
  readonly api?: apigw.CfnRestApi;
}

/** manifest-rewriter, behind a Function URL (the default) or a REST API
 * {proxy+}; `allowDistribution` then lets only the distribution call it. */
export function rewriter(ctx: Context, s: Storage, keys: Signers): Rewriter {
  const logs = logGroup(ctx, 'RewriterLogs');
  const role = lambdaRole(ctx, 'RewriterRole', 'manifest-rewriter', logs, [
    allow('ReadPlaylists', 's3:GetObject', mediaObjects(s, `${PREFIXES.videos}*`)),
    // Encrypted ladders' keys, outside videos/ (the media origin never
    // reaches them); kept with Encryption=none for earlier videos.
    allow('ReadVideoKeys', 's3:GetObject', mediaObjects(s, `${PREFIXES.keys}*`)),
    getSecret('OriginSecret', s.originSecret),
  ]);
  // {"KEY_PAIR_ID":"PEM",...}: the key group's ids with whole PEMs.
  const entry = (k: cloudfront.CfnPublicKey, pem: string) => `"${k.ref}":${JSON.stringify(pem.replace(/\r/g, ''))}`;
  const publicKeys = [
    keys.publicKey1 && entry(keys.publicKey1, ctx.p.SigningPublicKey1),
    keys.publicKey2 && entry(keys.publicKey2, ctx.p.SigningPublicKey2),
  ]
    .filter(Boolean)
    .join(',');
  const fn = rustFunction(
    ctx,
    'RewriterFunction',
    'manifest-rewriter',
    role,
    logs,
    {
      functionName: `${ctx.stackName}-manifest-rewriter`,
      description: 'Serves every playlist from S3 with every URI signed',
      memorySize: 1024,
      reservedConcurrentExecutions: ctx.cap(ctx.p.RewriterReservedConcurrency),
      environment: {
        MEDIA_BUCKET: s.mediaBucket.ref,
        PUBLIC_ORIGIN_HEADER,
        ORIGIN_SECRET_ARN: s.originSecret.ref,
        ORIGIN_HEADER,
        METRICS_NAMESPACE: ctx.namespace,
        PUBLIC_KEYS: `{${publicKeys}}`,
        KEY_PREFIX: PREFIXES.videos,
        KEYS_PREFIX: PREFIXES.keys,
        AUTH_MODE: ctx.hasCookies ? 'cookies' : 'url',
        CORS_ALLOWED_ORIGINS: ctx.p.PlayerOrigins,
      },
    },
    [
      noDlqWhenSync('CloudFront through a Function URL or API Gateway'),
      {
        checkov: 'CKV_AWS_117',
        reason:
          'Reaches only S3 and Secrets Manager over their public endpoints; nothing private, so no VPC (a VPC would add NAT or endpoint costs and cold-start time).',
      },
      {
        checkov: 'CKV_AWS_115',
        reason:
          'Reserved concurrency is the RewriterReservedConcurrency parameter; off by default because a reservation fails on accounts under the new-account quota.',
      },
      {
        checkov: 'CKV_AWS_173',
        reason:
          'No secret in the environment (secrets are ARNs, PUBLIC_KEYS are public); Lambda encrypts it at rest with its own key.',
      },
    ],
  );
  return ctx.behindUrl ? behindUrl(ctx, s, fn) : behindApi(ctx, s, fn);
}

/** The Function URL answers only requests CloudFront signs (OAC, AWS_IAM);
 * the origin secret stays, in depth. */
function behindUrl(ctx: Context, s: Storage, fn: lambda.Function): Rewriter {
  const oac = new cloudfront.CfnOriginAccessControl(ctx.scope, 'RewriterOriginAccessControl', {
    originAccessControlConfig: {
      name: `${ctx.stackName}-rewriter`,
      originAccessControlOriginType: 'lambda',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    },
  });
  const url = new lambda.CfnUrl(ctx.scope, 'RewriterUrl', {
    targetFunctionArn: fn.functionArn,
    authType: 'AWS_IAM',
    invokeMode: 'BUFFERED',
  });
  const { verify, tls } = customOrigin(ctx, s);
  return {
    fn,
    origin: {
      id: 'rewriter',
      domainName: Fn.select(2, Fn.split('/', url.attrFunctionUrl)),
      originAccessControlId: oac.attrId,
      customOriginConfig: tls,
      originCustomHeaders: [verify],
    },
  };
}

/** A REST API {proxy+}, guarded by the origin secret only. Access logging on
 * a REST API needs the account's API Gateway CloudWatch role (docs/deploy.md). */
function behindApi(ctx: Context, s: Storage, fn: lambda.Function): Rewriter {
  const scope = ctx.scope;
  const name = `${ctx.stackName}-manifest-rewriter`;
  const api = new apigw.CfnRestApi(scope, 'RewriterApi', {
    name,
    endpointConfiguration: { types: ['REGIONAL'] },
    binaryMediaTypes: ['*~1*'],
    body: {
      openapi: '3.0.1',
      info: { title: name, version: '1' },
      paths: {
        '/{proxy+}': {
          'x-amazon-apigateway-any-method': {
            parameters: [{ name: 'proxy', in: 'path', required: true, schema: { type: 'string' } }],
            'x-amazon-apigateway-integration': lambdaProxy(fn),
          },
        },
      },
    },
  });
  skip(api, {
    nag: ['AwsSolutions-APIG2'],
    reason: 'Its one {proxy+} route takes any path; the function checks every request (path, query, signature) itself.',
  });
  // The one route never changes, so one deployment serves.
  const deployment = new apigw.CfnDeployment(scope, 'RewriterApiDeployment', {
    restApiId: api.ref,
    description: 'the {proxy+} route to the manifest-rewriter',
  });
  const accessLogs = logGroup(ctx, 'RewriterApiAccessLogs');
  const stage = new apigw.CfnStage(scope, 'RewriterApiStage', {
    restApiId: api.ref,
    deploymentId: deployment.ref,
    stageName: 'live',
    accessLogSetting: {
      destinationArn: accessLogs.attrArn,
      format:
        '{"request_id":"$context.requestId","source_ip":"$context.identity.sourceIp","route":"$context.resourcePath","status":"$context.status","latency_ms":"$context.responseLatency","integration_latency_ms":"$context.integrationLatency","lambda_request_id":"$context.integration.requestId","error":"$context.error.message"}',
    },
    methodSettings: [
      {
        resourcePath: '/*',
        httpMethod: '*',
        throttlingBurstLimit: Number(ctx.p.RewriterApiBurstLimit),
        throttlingRateLimit: Number(ctx.p.RewriterApiRateLimit),
      },
    ],
  });
  skip(
    stage,
    {
      checkov: 'CKV_AWS_73',
      nag: ['AwsSolutions-APIG6'],
      reason: "No X-Ray; the request id joins the API access log, the function's log line and its EMF metrics.",
    },
    {
      nag: ['AwsSolutions-APIG3'],
      reason:
        'Only requests carrying the origin secret are served, and CloudFront sends it: the web ACL (WebAclArn) belongs on the distribution in front.',
    },
    {
      checkov: 'CKV_AWS_120',
      reason: "Every playlist is signed for one viewer; a cache would hand one viewer's signatures to the next.",
    },
  );
  const { verify, tls } = customOrigin(ctx, s);
  return {
    fn,
    api,
    origin: {
      id: 'rewriter',
      domainName: `${api.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      originPath: '/live', // the stage's name
      customOriginConfig: tls,
      // API Gateway decodes the rewriter's compressed (base64) bodies only
      // when Accept matches a binary media type.
      originCustomHeaders: [verify, { headerName: 'Accept', headerValue: '*/*' }],
    },
  };
}

/** Only this distribution may call the rewriter: through the URL (both
 * actions, as new URLs need), or through the REST API. */
export function allowDistribution(ctx: Context, r: Rewriter, distributionArn: string): void {
  const functionName = functionRef(r.fn);
  if (r.api === undefined) {
    new lambda.CfnPermission(ctx.scope, 'RewriterUrlInvokeUrlPermission', {
      functionName,
      action: 'lambda:InvokeFunctionUrl',
      functionUrlAuthType: 'AWS_IAM',
      principal: 'cloudfront.amazonaws.com',
      sourceArn: distributionArn,
    });
    new lambda.CfnPermission(ctx.scope, 'RewriterUrlInvokeFunctionPermission', {
      functionName,
      action: 'lambda:InvokeFunction',
      invokedViaFunctionUrl: true,
      principal: 'cloudfront.amazonaws.com',
      sourceArn: distributionArn,
    });
  } else {
    new lambda.CfnPermission(ctx.scope, 'RewriterInvokePermission', {
      functionName,
      action: 'lambda:InvokeFunction',
      principal: 'apigateway.amazonaws.com',
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${r.api.ref}/*/*/*`,
    });
  }
}
