import { Aws, CfnOutput, Stack, Token } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Context, functionRef, REPOSITORY_MANIFEST } from './common';
import { edge, signers } from './edge';
import { HttpApi, issuer } from './issuer';
import { jobs } from './jobs';
import { operations } from './operations';
import { checked, HlsGateConfigError, type Parameters } from './parameters';
import { type HlsGateProps, toParameters } from './props';
import { allowDistribution, rewriter } from './rewriter';
import { storage } from './storage';
import { uploads } from './uploads';

const STACKS_WITH_ONE = new WeakSet<Stack>();

/**
 * hlsgate: uploads become an HLS ladder (MediaConvert); viewers play it
 * through CloudFront with short-lived signatures issued after an
 * entitlement check. The same resources, security and functions as
 * `infra/template.yaml` (docs/deploy-cdk.md), each under the template's
 * name; `infra/tests/test_cdk.py` fails when the two differ.
 */
export class HlsGate extends Construct {
  /** The template's parameter values these props resolved to. */
  readonly parameters: Parameters;
  readonly uploadBucket: s3.CfnBucket;
  readonly mediaBucket: s3.CfnBucket;
  readonly distribution: cloudfront.CfnDistribution;
  readonly signingKeysSecret: secretsmanager.CfnSecret;
  readonly originSecret: secretsmanager.CfnSecret;
  readonly noticesTopic: sns.CfnTopic;
  readonly alarmsTopic: sns.CfnTopic;
  readonly rewriterFunction: lambda.Function;
  readonly issuerFunction: lambda.Function;
  readonly uploadFunction: lambda.Function;
  readonly jobsFunction: lambda.Function;
  /** The domain viewers play from. */
  readonly cdnDomain: string;

  constructor(scope: Construct, id: string, props: HlsGateProps) {
    super(scope, id);
    const p = checked(toParameters(props));
    this.parameters = p;
    oneForThisStack(Stack.of(this));
    const ctx = new Context(this, p, props.manifestPath ?? REPOSITORY_MANIFEST);

    const s = storage(ctx);
    const keys = signers(ctx);
    const rw = rewriter(ctx, s, keys);
    const http = new HttpApi(ctx);
    const cdn = edge(ctx, s, keys, { rewriter: rw.origin, issuerDomain: http.domain });
    allowDistribution(ctx, rw, cdn.distributionArn);
    const issuerFn = issuer(ctx, s, http, cdn.cdnDomain);
    const uploadFn = uploads(ctx, s, http);
    const job = jobs(ctx, s);
    const ops = operations(
      ctx,
      { rewriter: functionRef(rw.fn), issuer: functionRef(issuerFn), jobs: functionRef(job.fn) },
      job.failedEvents.attrQueueName,
    );

    this.uploadBucket = s.uploadBucket;
    this.mediaBucket = s.mediaBucket;
    this.signingKeysSecret = s.signingKeysSecret;
    this.originSecret = s.originSecret;
    this.distribution = cdn.distribution;
    this.cdnDomain = cdn.cdnDomain;
    this.rewriterFunction = rw.fn;
    this.issuerFunction = issuerFn;
    this.uploadFunction = uploadFn;
    this.jobsFunction = job.fn;
    this.noticesTopic = job.noticesTopic;
    this.alarmsTopic = ops.alarmsTopic;

    // Outputs keep the template's names (one HlsGate per stack), so the
    // commands of docs/deploy.md read either stack.
    const outputs = new Construct(this, 'Outputs');
    const out = (name: string, description: string, value: string | undefined) => {
      if (value !== undefined) new CfnOutput(outputs, name, { description, value }).overrideLogicalId(name);
    };
    const api = `https://${http.domain}`;
    out('CdnDomain', 'The domain viewers play from', cdn.cdnDomain);
    out(
      'DistributionDomain',
      "CloudFront's own domain (point CdnAliasDomain's CNAME here)",
      cdn.distribution.attrDomainName,
    );
    out(
      'PlaybackUrl',
      "GET PlaybackUrl/VIDEO_ID with the viewer's bearer token, through the distribution (same origin as the media; host-only cookies)",
      `https://${cdn.cdnDomain}/playback/`,
    );
    out('IssuerUrl', "The issuer's own API URL, for API clients (GET IssuerUrl/VIDEO_ID)", `${api}/playback/`);
    out(
      'UploadApiUrl',
      "The upload API's base URL (POST UploadApiUrl/uploads, GET UploadApiUrl/videos/ID/status)",
      api,
    );
    out('AlarmsTopicArn', 'Where the alarms go (subscribe more endpoints here)', ops.alarmsTopic.ref);
    out(
      'DashboardUrl',
      'The CloudWatch dashboard',
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${ops.dashboard.ref}`,
    );
    out('UploadBucket', 'Upload sources under s3://UploadBucket/uploads/', s.uploadBucket.ref);
    out('MediaBucket', 'HLS output (videos/<id>/) and job claims (jobs/)', s.mediaBucket.ref);
    out('NoticesTopicArn', 'Job notices (complete, error, progress)', job.noticesTopic.ref);
    out('SigningKeysSecretArn', 'Put the private keys here (docs/deploy.md)', s.signingKeysSecret.ref);
    out('OriginSecretArn', 'Rotate, then redeploy so CloudFront sends the new value', s.originSecret.ref);
    out(
      'GrantsTableName',
      'The grants table (hlsgate grant --table …; your platform writes purchases here)',
      s.grantsTableName,
    );
    out('SessionsTableName', 'The sessions table (hlsgate sessions list|end --table …)', s.sessionsTable?.ref);
    out(
      'EntitlementSecretArn',
      "The key your webhook checks each request's X-Hlsgate-Signature with",
      s.entitlementSecret?.ref,
    );
    out(
      'KeyProviderUrl',
      "The SPEKE key provider MediaConvert asks for each encrypted job's key (IAM-authorised; the MediaConvert role only)",
      job.keyProvider?.url,
    );
    out(
      'MediaConvertRoleArn',
      "The role MediaConvert assumes; a DRM vendor's SPEKE proxy (SpekeUrl) must let it call execute-api:Invoke",
      job.mediaConvertRole.attrArn,
    );
    out('KeyPairId1', 'CloudFront id of the key in slot 1 (the "id" in the signing-keys secret)', keys.publicKey1?.ref);
    out('KeyPairId2', 'CloudFront id of the key in slot 2', keys.publicKey2?.ref);
    out('FailedEventsQueueUrl', 'Events that could not be handled after retries', job.failedEvents.ref);
    out('JobsFunctionName', 'The mediaconvert-jobs function (redrive failed events to it)', functionRef(job.fn));
  }
}

/** Names derive from the stack's, as in the SAM template: one HlsGate per
 * stack, and the longest name, STACK-manifest-rewriter, within Lambda's 64. */
function oneForThisStack(stack: Stack): void {
  if (STACKS_WITH_ONE.has(stack)) {
    throw new HlsGateConfigError([
      `${stack.node.path} already holds an HlsGate: one per stack, since its resource names come from the stack name.`,
    ]);
  }
  STACKS_WITH_ONE.add(stack);
  const name = stack.stackName;
  if (!Token.isUnresolved(name) && name.length > 46) {
    throw new HlsGateConfigError([
      `The stack name ${name} is longer than 46 characters (its function STACK-manifest-rewriter must fit 64).`,
    ]);
  }
}
