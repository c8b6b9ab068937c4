import { Aws } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  allow,
  type Context,
  functionRef,
  lambdaProxy,
  lambdaRole,
  logGroup,
  noDlqWhenSync,
  PREFIXES,
  policy,
  rustFunction,
} from './common';
import { skip } from './reasons';
import { mediaObjects, type Storage } from './storage';

/** The key provider's stage, path and the URL MediaConvert is given. */
const STAGE = 'v1';
const PATH = '/copyProtection';

export interface KeyProvider {
  readonly fn: lambda.Function;
  /** The SPEKE URL the jobs function gives MediaConvert. */
  readonly url: string;
}

/** key-provider (docs/key-provider.md): SPEKE for MediaConvert behind a REST
 * API with AWS_IAM on one route, whose resource policy admits the
 * MediaConvert role alone; the function checks the caller again and answers
 * each video's folder key from keys/. */
export function keyProvider(ctx: Context, s: Storage, mediaConvertRole: iam.CfnRole): KeyProvider {
  const scope = ctx.scope;
  const logs = logGroup(ctx, 'KeyProviderLogs');
  // Each video's folder key: read, or made once with a conditional write.
  const role = lambdaRole(ctx, 'KeyProviderRole', 'key-provider', logs, [
    allow('ProvideVideoKeys', ['s3:GetObject', 's3:PutObject'], mediaObjects(s, `${PREFIXES.keys}*`)),
  ]);
  const fn = rustFunction(
    ctx,
    'KeyProviderFunction',
    'key-provider',
    role,
    logs,
    {
      description: "SPEKE key provider for MediaConvert's AES-128 ladders",
      environment: {
        MEDIA_BUCKET: s.mediaBucket.ref,
        KEY_PREFIX: PREFIXES.videos,
        KEYS_PREFIX: PREFIXES.keys,
        CALLER_ROLE_ARN: mediaConvertRole.attrArn,
        METRICS_NAMESPACE: ctx.namespace,
      },
    },
    [
      { checkov: 'CKV_AWS_117', reason: 'Reaches only S3 over its public endpoint; nothing private, so no VPC.' },
      {
        checkov: 'CKV_AWS_115',
        reason:
          "Called once per encrypted job by MediaConvert; the stage's throttle (10/s, burst 20) caps it, and a reservation fails on accounts under the new-account quota.",
      },
      {
        ...noDlqWhenSync('API Gateway'),
        reason:
          'Invoked synchronously (API Gateway); a dead-letter queue applies to asynchronous invocations only, and MediaConvert fails the job on an error.',
      },
      {
        checkov: 'CKV_AWS_173',
        reason:
          'No secret in the environment (a bucket name, prefixes, a role ARN); Lambda encrypts it at rest with its own key.',
      },
    ],
  );

  const name = `${ctx.stackName}-key-provider`;
  const api = new apigw.CfnRestApi(scope, 'KeyProviderApi', {
    name,
    endpointConfiguration: { types: ['REGIONAL'] },
    policy: policy(
      {
        Sid: 'OnlyMediaConvert',
        Effect: 'Allow',
        Principal: { AWS: mediaConvertRole.attrArn },
        Action: 'execute-api:Invoke',
        Resource: `execute-api:/*/POST${PATH}`,
      },
      // Same-account callers are otherwise let in by their own IAM policies
      // alone; nobody but the MediaConvert role is.
      {
        Sid: 'NobodyElse',
        Effect: 'Deny',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': mediaConvertRole.attrArn } },
      },
    ),
    body: {
      openapi: '3.0.1',
      info: { title: name, version: '1' },
      components: {
        securitySchemes: {
          sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
        },
      },
      paths: {
        [PATH]: {
          post: {
            security: [{ sigv4: [] }],
            'x-amazon-apigateway-integration': lambdaProxy(fn),
          },
        },
      },
    },
  });
  skip(api, {
    nag: ['AwsSolutions-APIG2'],
    reason:
      'Its one route takes a CPIX document, which the function reads with a size- and depth-capped XML parser and refuses as SPEKE says.',
  });
  // SPEKE: MediaConvert calls the provider as its role (SigV4), on the one
  // method and path. Its own policy: the API's resource policy names the
  // role, so the role's inline policy cannot name the API.
  new iam.CfnPolicy(scope, 'MediaConvertInvokesKeyProvider', {
    policyName: 'invoke-key-provider',
    roles: [mediaConvertRole.ref],
    policyDocument: policy(
      allow(
        'InvokeKeyProvider',
        'execute-api:Invoke',
        `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.ref}/${STAGE}/POST${PATH}`,
      ),
    ),
  });
  const deployment = new apigw.CfnDeployment(scope, 'KeyProviderDeployment', {
    restApiId: api.ref,
    description: 'POST /copyProtection to the key-provider, IAM-authorised',
  });
  // No access log: on a REST API it needs the account's API Gateway
  // CloudWatch role, which a default deploy must not require; the function
  // logs every call (caller, video, outcome).
  const stage = new apigw.CfnStage(scope, 'KeyProviderStage', {
    restApiId: api.ref,
    deploymentId: deployment.ref,
    stageName: STAGE,
    methodSettings: [{ resourcePath: '/*', httpMethod: '*', throttlingBurstLimit: 20, throttlingRateLimit: 10 }],
  });
  skip(
    stage,
    {
      checkov: 'CKV_AWS_73',
      nag: ['AwsSolutions-APIG6'],
      reason: "No X-Ray; the function's one log line per call carries the request id and the caller.",
    },
    {
      nag: ['AwsSolutions-APIG3'],
      reason:
        "Only SigV4-signed requests of the MediaConvert role get past the API's resource policy; a web ACL would filter nothing else.",
    },
    { checkov: 'CKV_AWS_120', reason: 'Every answer holds a content key; a cache would keep keys outside S3.' },
    {
      checkov: 'CKV_AWS_76',
      nag: ['AwsSolutions-APIG1'],
      reason:
        "The function logs every call with the caller's ARN, the video and the outcome; a REST access log needs the account-wide API Gateway CloudWatch role, which a default deploy must not require.",
    },
  );
  new lambda.CfnPermission(scope, 'KeyProviderInvokePermission', {
    functionName: functionRef(fn),
    action: 'lambda:InvokeFunction',
    principal: 'apigateway.amazonaws.com',
    sourceAccount: Aws.ACCOUNT_ID,
    sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.ref}/*/POST${PATH}`,
  });
  return { fn, url: `https://${api.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${STAGE}${PATH}` };
}
