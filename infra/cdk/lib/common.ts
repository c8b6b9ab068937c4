import * as path from 'node:path';
import { Aws, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RustFunction, type RustFunctionProps } from 'cargo-lambda-cdk';
import type { Construct } from 'constructs';
import type { Parameters } from './parameters';
import { REASONS, skip } from './reasons';

/** The layout the code's defaults fix (docs/architecture.md). */
export const PREFIXES = {
  input: 'uploads/',
  videos: 'videos/',
  keys: 'keys/',
  jobs: 'jobs/',
  status: 'status/',
  rules: 'rules/',
} as const;

/** The header CloudFront sends the origin secret in. */
export const ORIGIN_HEADER = 'X-Origin-Verify';
/** The header the viewer-request function tells the rewriter the viewer's origin in. */
export const PUBLIC_ORIGIN_HEADER = 'X-Hlsgate-Origin';

/** This repository's workspace, from infra/cdk/dist/lib. */
export const REPOSITORY_MANIFEST = path.join(__dirname, '..', '..', '..', '..', 'Cargo.toml');

/** What every part of the stack reads: the parameters, and the template's
 * Conditions as booleans (the props are known at synth). */
export class Context {
  readonly stackName: string;
  readonly namespace: string;
  readonly origins: string[];
  readonly retention: number;
  readonly hasKey1: boolean;
  readonly hasKey2: boolean;
  readonly hasAlias: boolean;
  readonly hasCookieDomain: boolean;
  readonly hasCookies: boolean;
  readonly behindUrl: boolean;
  readonly anyPlayerOrigin: boolean;
  /** The pages that upload from the browser (none: no browser uploads). */
  readonly uploadOrigins: string[];
  readonly usesGrantsTable: boolean;
  readonly createsGrantsTable: boolean;
  readonly usesWebhook: boolean;
  readonly encrypts: boolean;
  readonly writesKeysIntoJobs: boolean;
  readonly providesKeys: boolean;
  readonly recordsSessions: boolean;
  readonly limitsStreams: boolean;

  constructor(
    readonly scope: Construct,
    readonly p: Parameters,
    readonly manifestPath: string,
  ) {
    this.stackName = Stack.of(scope).stackName;
    this.namespace = `hlsgate/${this.stackName}`;
    this.origins = p.PlayerOrigins.split(',');
    this.uploadOrigins = p.UploadOrigins === '' ? [] : p.UploadOrigins.split(',');
    this.retention = Number(p.LogRetentionDays);
    this.hasKey1 = p.SigningPublicKey1 !== '';
    this.hasKey2 = p.SigningPublicKey2 !== '';
    this.hasAlias = p.CdnAliasDomain !== '';
    this.hasCookieDomain = p.CookieDomain !== '';
    this.hasCookies = this.hasCookieDomain || p.HostOnlyCookies === 'true';
    this.behindUrl = p.RewriterOrigin === 'function-url';
    this.anyPlayerOrigin = p.PlayerOrigins === '*';
    this.usesGrantsTable = p.Entitlement === 'dynamodb';
    this.createsGrantsTable = this.usesGrantsTable && p.GrantsTableName === '';
    this.usesWebhook = p.Entitlement === 'webhook';
    this.encrypts = p.Encryption === 'aes-128';
    this.writesKeysIntoJobs = this.encrypts && p.KeyExchange === 'static';
    this.providesKeys = this.encrypts && p.KeyExchange === 'speke' && p.SpekeUrl === '';
    this.recordsSessions = p.Sessions === 'table';
    this.limitsStreams = p.MaxStreams !== '0';
  }

  /** A reserved-concurrency parameter as the function's setting (-1: none). */
  cap(value: string): number | undefined {
    return value === '-1' ? undefined : Number(value);
  }
}

export function policy(...statements: object[]) {
  return { Version: '2012-10-17', Statement: statements };
}

export function allow(sid: string, action: string | string[], resource: unknown, condition?: object) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: action,
    Resource: resource,
    ...(condition ? { Condition: condition } : {}),
  };
}

export function getSecret(sid: string, secret: secretsmanager.CfnSecret) {
  return allow(sid, 'secretsmanager:GetSecretValue', secret.ref);
}

export function blockPublic() {
  return { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
}

export function sse() {
  return {
    serverSideEncryptionConfiguration: [
      { serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true },
    ],
  };
}

export function denyInsecure(bucket: s3.CfnBucket) {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [bucket.attrArn, `${bucket.attrArn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/** A log group with the stack's retention. */
export function logGroup(ctx: Context, id: string): logs.CfnLogGroup {
  const g = new logs.CfnLogGroup(ctx.scope, id, { retentionInDays: ctx.retention });
  skip(g, { checkov: 'CKV_AWS_158', reason: REASONS.logsKey });
  return g;
}

/** A function's role: one inline policy, the first statement its own logs. */
export function lambdaRole(
  ctx: Context,
  id: string,
  policyName: string,
  logs: logs.CfnLogGroup,
  statements: object[],
): iam.CfnRole {
  const all = [allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], logs.attrArn), ...statements];
  const role = new iam.CfnRole(ctx.scope, id, {
    assumeRolePolicyDocument: policy({
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: 'sts:AssumeRole',
    }),
    policies: [{ policyName, policyDocument: policy(...all) }],
  });
  acknowledgePrefixGrants(role);
  return role;
}

/** cdk-nag names each wildcard resource of a role's policies; every one here
 * ends in a key prefix, or is MediaConvert's job ARN pattern. */
export function acknowledgePrefixGrants(role: iam.CfnRole): void {
  const policies = Stack.of(role).resolve(role.policies) as {
    policyDocument: { Statement: { Resource: unknown }[] };
  }[];
  const wild = policies
    .flatMap((pol) => pol.policyDocument.Statement.flatMap((st) => [st.Resource].flat()))
    .map(nagName)
    .filter((r) => r.includes('*'));
  skip(role, {
    nag: [...new Set(wild)].map((r) => `AwsSolutions-IAM5[Resource::${r}]`),
    reason:
      "Each grant ends in a key prefix the function reads or writes (videos/*, status/*, uploads/*), or is MediaConvert's job ARN pattern; never a whole bucket (infra/guard/iam.guard).",
  });
}

/** How cdk-nag writes a policy resource: <Id.Attr> for GetAtt, <Name> for Ref. */
function nagName(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(nagName).join(sep);
  }
  if (o['Fn::GetAtt']) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref) return `<${o.Ref as string}>`;
  return JSON.stringify(v);
}

export interface FunctionSettings extends Omit<RustFunctionProps, 'environment'> {
  readonly environment: Record<string, string | undefined>;
}

/** One of the functions: arm64, provided.al2023, built by cargo lambda
 * from the workspace, with the template's role (taken as it is) and log
 * group; the template's Globals (512 MB, 10 s) unless `extra` says. */
export function rustFunction(
  ctx: Context,
  id: string,
  binaryName: string,
  role: iam.CfnRole,
  group: logs.CfnLogGroup,
  extra: FunctionSettings,
  skips: { checkov: string; reason: string }[],
): lambda.Function {
  const fn = new RustFunction(ctx.scope, id, {
    manifestPath: ctx.manifestPath,
    binaryName,
    runtime: 'provided.al2023',
    architecture: lambda.Architecture.ARM_64,
    bundling: { architecture: lambda.Architecture.ARM_64 },
    memorySize: 512,
    timeout: Duration.seconds(10),
    role: iam.Role.fromRoleArn(ctx.scope, `${id}RoleArn`, role.attrArn, { mutable: false }),
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup: logs.LogGroup.fromLogGroupName(ctx.scope, `${id}LogGroupName`, group.ref),
    ...extra,
    environment: defined(extra.environment),
  });
  skip(fn.node.defaultChild as CfnResource, ...skips);
  return fn;
}

/** The function's name (`Ref` of its AWS::Lambda::Function). */
export function functionRef(fn: lambda.Function): string {
  return (fn.node.defaultChild as lambda.CfnFunction).ref;
}

/** A REST API route's Lambda proxy integration, as the OpenAPI body names it. */
export function lambdaProxy(fn: lambda.Function) {
  return {
    type: 'aws_proxy',
    httpMethod: 'POST',
    uri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${fn.functionArn}/invocations`,
  };
}

/** A function invoked synchronously needs no dead-letter queue. */
export function noDlqWhenSync(who: string) {
  return {
    checkov: 'CKV_AWS_116',
    reason: `Invoked synchronously (${who}); a dead-letter queue applies to asynchronous invocations only.`,
  };
}

function defined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
