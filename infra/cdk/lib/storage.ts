import { CfnDeletionPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { blockPublic, type Context, denyInsecure, PREFIXES, policy, sse } from './common';
import { REASONS, skip } from './reasons';

/** The buckets, the secrets and (with Entitlement=dynamodb and no table
 * named) the grants table. */
export interface Storage {
  readonly uploadBucket: s3.CfnBucket;
  readonly mediaBucket: s3.CfnBucket;
  readonly signingKeysSecret: secretsmanager.CfnSecret;
  readonly originSecret: secretsmanager.CfnSecret;
  readonly logHashSecret: secretsmanager.CfnSecret;
  /** The webhook's HMAC key, with Entitlement=webhook. */
  readonly entitlementSecret?: secretsmanager.CfnSecret;
  readonly grantsTable?: dynamodb.CfnTable;
  /** The grants table's name, with Entitlement=dynamodb. */
  readonly grantsTableName?: string;
  /** With Sessions=table. */
  readonly sessionsTable?: dynamodb.CfnTable;
}

export function storage(ctx: Context): Storage {
  const scope = ctx.scope;
  const uploadBucket = new s3.CfnBucket(scope, 'UploadBucket', {
    versioningConfiguration: { status: 'Enabled' },
    notificationConfiguration: { eventBridgeConfiguration: { eventBridgeEnabled: true } },
    publicAccessBlockConfiguration: blockPublic(),
    bucketEncryption: sse(),
    ownershipControls: { rules: [{ objectOwnership: 'BucketOwnerEnforced' }] },
    // The upload pages, and no other origin, PUT presigned parts.
    corsConfiguration:
      ctx.uploadOrigins.length === 0
        ? undefined
        : {
            corsRules: [
              {
                id: 'presigned-part-uploads',
                allowedMethods: ['PUT'],
                allowedOrigins: ctx.uploadOrigins,
                allowedHeaders: ['Content-Type'],
                exposedHeaders: ['ETag'],
                maxAge: 3000,
              },
            ],
          },
    lifecycleConfiguration: {
      rules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
        {
          id: 'expire-replaced-sources',
          status: 'Enabled',
          noncurrentVersionExpiration: { noncurrentDays: 30 },
        },
      ],
    },
  });
  skip(uploadBucket, {
    checkov: 'CKV_AWS_18',
    nag: ['AwsSolutions-S1'],
    reason:
      "Written only by the team's own credentials and read only by MediaConvert; CloudTrail is the audit trail (add S3 data events there if wanted), not a third bucket of server access logs.",
  });
  new s3.CfnBucketPolicy(scope, 'UploadBucketPolicy', {
    bucket: uploadBucket.ref,
    policyDocument: policy(denyInsecure(uploadBucket)),
  });

  const mediaBucket = new s3.CfnBucket(scope, 'MediaBucket', {
    publicAccessBlockConfiguration: blockPublic(),
    bucketEncryption: sse(),
    ownershipControls: { rules: [{ objectOwnership: 'BucketOwnerEnforced' }] },
    lifecycleConfiguration: {
      rules: [{ id: 'expire-job-claims', status: 'Enabled', prefix: PREFIXES.jobs, expirationInDays: 30 }],
    },
  });
  skip(
    mediaBucket,
    {
      checkov: 'CKV_AWS_18',
      nag: ['AwsSolutions-S1'],
      reason:
        "Every viewer read goes through CloudFront (origin access control), whose access logs record it; the functions' reads are in their own logs.",
    },
    {
      checkov: 'CKV_AWS_21',
      reason:
        'Everything here is derived from the versioned uploads (a re-upload transcodes again); versions of every rewritten ladder would only add cost.',
    },
  );

  // ------------------------------------------------------------ secrets
  const secret = (name: string, description: string, value?: string) => {
    const s = new secretsmanager.CfnSecret(scope, name, {
      description,
      ...(value !== undefined
        ? { secretString: value }
        : { generateSecretString: { passwordLength: 48, excludePunctuation: true } }),
    });
    skip(
      s,
      { checkov: 'CKV_AWS_149', reason: REASONS.secretKey },
      {
        nag: ['AwsSolutions-SMG4'],
        reason:
          value !== undefined
            ? 'Private keys are put by the team and rotated by key slot (docs/deploy.md); Secrets Manager cannot make a CloudFront key pair.'
            : 'Rotated by putting a new value and redeploying (docs/deploy.md); a rotation Lambda could not tell CloudFront the new value.',
      },
    );
    return s;
  };
  const signingKeysSecret = secret(
    'SigningKeysSecret',
    'hlsgate signing keys, {"keys":[{"id":KEY_PAIR_ID,"private_key":PEM,"active":true}]}; put the real value after the first deploy (docs/deploy.md).',
    '{"keys":[]}',
  );
  const originSecret = secret(
    'OriginSecret',
    'Value CloudFront sends as X-Origin-Verify to the manifest-rewriter API.',
  );
  const logHashSecret = secret('LogHashSecret', "Key of the viewer pseudonyms in the issuer's logs.");
  const entitlementSecret = ctx.usesWebhook
    ? secret(
        'EntitlementSecret',
        "Key of the HMAC-SHA256 signature on the issuer's entitlement webhook requests (docs/entitlement.md).",
      )
    : undefined;

  // ------------------------------------------------------------ grants
  let grantsTable: dynamodb.CfnTable | undefined;
  if (ctx.createsGrantsTable) {
    grantsTable = new dynamodb.CfnTable(scope, 'GrantsTable', {
      billingMode: 'PAY_PER_REQUEST',
      attributeDefinitions: [
        { attributeName: 'subject', attributeType: 'S' },
        { attributeName: 'video', attributeType: 'S' },
      ],
      keySchema: [
        { attributeName: 'subject', keyType: 'HASH' },
        { attributeName: 'video', keyType: 'RANGE' },
      ],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      sseSpecification: { sseEnabled: true },
      timeToLiveSpecification: { attributeName: 'expires_at', enabled: true },
      deletionProtectionEnabled: true,
    });
    grantsTable.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
    grantsTable.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
    skip(grantsTable, {
      checkov: 'CKV_AWS_119',
      reason:
        "Encrypted at rest with the AWS managed key for DynamoDB (SSESpecification); a customer key adds cost and a key policy without changing who may read it (only the issuer's role may GetItem/Query).",
    });
  }
  // ------------------------------------------------------------ sessions
  // One item per stream slot or session; expires_at (the signature's
  // expiry plus the grace) is the TTL. docs/sessions.md.
  let sessionsTable: dynamodb.CfnTable | undefined;
  if (ctx.recordsSessions) {
    sessionsTable = new dynamodb.CfnTable(scope, 'SessionsTable', {
      billingMode: 'PAY_PER_REQUEST',
      attributeDefinitions: [
        { attributeName: 'subject', attributeType: 'S' },
        { attributeName: 'slot', attributeType: 'S' },
      ],
      keySchema: [
        { attributeName: 'subject', keyType: 'HASH' },
        { attributeName: 'slot', keyType: 'RANGE' },
      ],
      sseSpecification: { sseEnabled: true },
      timeToLiveSpecification: { attributeName: 'expires_at', enabled: true },
    });
    skip(
      sessionsTable,
      {
        checkov: 'CKV_AWS_119',
        reason:
          "Encrypted at rest with the AWS managed key for DynamoDB (SSESpecification); a customer key adds cost and a key policy without changing who may read it (only the issuer's role may read or write it).",
      },
      {
        checkov: 'CKV_AWS_28',
        nag: ['AwsSolutions-DDB3'],
        reason:
          'Sessions live minutes and the next start makes a new one; a restored backup could only bring back ended or lapsed sessions.',
      },
    );
  }
  const grantsTableName = ctx.usesGrantsTable ? (grantsTable ? grantsTable.ref : ctx.p.GrantsTableName) : undefined;
  return {
    uploadBucket,
    mediaBucket,
    signingKeysSecret,
    originSecret,
    logHashSecret,
    entitlementSecret,
    grantsTable,
    grantsTableName,
    sessionsTable,
  };
}

/** The ARN of the media bucket's objects matching `suffix` (videos/*, ...). */
export function mediaObjects(s: Storage, suffix: string): string {
  return `${s.mediaBucket.attrArn}/${suffix}`;
}

/** The upload bucket's uploads. */
export function uploadObjects(s: Storage): string {
  return `${s.uploadBucket.attrArn}/${PREFIXES.input}*`;
}
