import { Aws, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  acknowledgePrefixGrants,
  allow,
  type Context,
  functionRef,
  lambdaRole,
  logGroup,
  PREFIXES,
  policy,
  rustFunction,
} from './common';
import { type KeyProvider, keyProvider } from './keys';
import { skip } from './reasons';
import { mediaObjects, type Storage, uploadObjects } from './storage';

export interface Jobs {
  readonly fn: lambda.Function;
  readonly noticesTopic: sns.CfnTopic;
  readonly failedEvents: sqs.CfnQueue;
  readonly mediaConvertRole: iam.CfnRole;
  /** This stack's SPEKE key provider, when it has one. */
  readonly keyProvider?: KeyProvider;
}

/** mediaconvert-jobs: an upload becomes one MediaConvert job; the job's end
 * becomes playback.json, a status and a notice. EventBridge delivers both,
 * retrying, with a dead-letter queue. */
export function jobs(ctx: Context, s: Storage): Jobs {
  const scope = ctx.scope;
  const p = ctx.p;
  const noticesTopic = new sns.CfnTopic(scope, 'NoticesTopic', { kmsMasterKeyId: 'alias/aws/sns' });
  if (p.NotificationEmail !== '') {
    new sns.CfnSubscription(scope, 'NoticesEmail', {
      topicArn: noticesTopic.ref,
      protocol: 'email',
      endpoint: p.NotificationEmail,
    });
  }
  const arn = (resource: string) => `arn:${Aws.PARTITION}:mediaconvert:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
  const mediaConvertRole = new iam.CfnRole(scope, 'MediaConvertRole', {
    assumeRolePolicyDocument: policy({
      Effect: 'Allow',
      Principal: { Service: 'mediaconvert.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnLike: { 'aws:SourceArn': arn('*') } },
    }),
    policies: [
      {
        policyName: 'transcode',
        policyDocument: policy(
          allow('ReadUploads', 's3:GetObject', uploadObjects(s)),
          allow('WriteLadders', 's3:PutObject', mediaObjects(s, `${PREFIXES.videos}*`)),
        ),
      },
    ],
  });
  acknowledgePrefixGrants(mediaConvertRole);
  const provider = ctx.providesKeys ? keyProvider(ctx, s, mediaConvertRole) : undefined;
  const failedEvents = new sqs.CfnQueue(scope, 'FailedEvents', {
    sqsManagedSseEnabled: true,
    messageRetentionPeriod: 1209600,
  });
  skip(
    failedEvents,
    {
      checkov: 'CKV_AWS_27',
      reason:
        'Encrypted with SQS-managed keys (SqsManagedSseEnabled); a KMS key would need a key policy for both EventBridge and Lambda to write.',
    },
    {
      nag: ['AwsSolutions-SQS3'],
      reason: 'This queue is the dead-letter queue of the rules and of the jobs function.',
    },
    {
      nag: ['AwsSolutions-SQS4'],
      reason: 'Only EventBridge (by policy) and the jobs role write; no client reads it over plain HTTP.',
    },
  );

  const logs = logGroup(ctx, 'JobsLogs');
  const role = lambdaRole(ctx, 'JobsRole', 'mediaconvert-jobs', logs, [
    allow('JobClaims', ['s3:GetObject', 's3:PutObject'], mediaObjects(s, `${PREFIXES.jobs}*`)),
    // One status object per video, merged at each step.
    allow('ProcessingStatus', ['s3:GetObject', 's3:PutObject'], mediaObjects(s, `${PREFIXES.status}*`)),
    allow('PlaybackSidecars', 's3:PutObject', mediaObjects(s, `${PREFIXES.videos}*/playback.json`)),
    // Probe reads the upload with the caller's own credentials; captions and
    // track manifests beside it are checked before the job.
    allow('ReadUploads', 's3:GetObject', uploadObjects(s)),
    allow('ListBesideUploads', 's3:ListBucket', s.uploadBucket.attrArn, {
      StringLike: { 's3:prefix': `${PREFIXES.input}*` },
    }),
    // KeyExchange=static: each video's key, made once before its first job.
    ...(ctx.writesKeysIntoJobs
      ? [allow('VideoKeys', ['s3:GetObject', 's3:PutObject'], mediaObjects(s, `${PREFIXES.keys}*`))]
      : []),
    allow('CreateJobs', 'mediaconvert:CreateJob', [arn('queues/Default'), arn('jobs/*')]),
    allow('PassTheMediaConvertRole', 'iam:PassRole', mediaConvertRole.attrArn, {
      StringEquals: { 'iam:PassedToService': 'mediaconvert.amazonaws.com' },
    }),
    allow('Notices', 'sns:Publish', noticesTopic.ref),
    allow('DeadLetters', 'sqs:SendMessage', failedEvents.attrArn),
  ]);
  // mediaconvert:Probe names no resource type, so IAM matches it only with
  // "*"; its own policy and statement (iam.guard allows "*" for it alone).
  const probe = new iam.CfnPolicy(scope, 'JobsProbePolicy', {
    policyName: 'mediaconvert-probe',
    roles: [role.ref],
    policyDocument: policy(allow('ProbeUploads', 'mediaconvert:Probe', '*')),
  });
  skip(
    probe,
    {
      checkov: 'CKV_AWS_355',
      nag: ['AwsSolutions-IAM5[Resource::*]'],
      reason:
        'mediaconvert:Probe has no resource type; "*" is the only resource IAM matches it with, and the action is read-only.',
    },
    {
      checkov: 'CKV_AWS_290',
      reason:
        'mediaconvert:Probe is read-only (it analyses a file the role may already read) and has no resource type to constrain.',
    },
  );
  const fn = rustFunction(
    ctx,
    'JobsFunction',
    'mediaconvert-jobs',
    role,
    logs,
    {
      description: 'Upload -> one MediaConvert HLS job; job end -> playback.json and a notice',
      timeout: Duration.seconds(60),
      reservedConcurrentExecutions: ctx.cap(p.JobsReservedConcurrency),
      // EventBridge invokes asynchronously: a failed invocation is retried by
      // Lambda, then kept in the same queue as undeliverable events.
      deadLetterQueue: sqs.Queue.fromQueueArn(scope, 'FailedEventsArn', failedEvents.attrArn),
      retryAttempts: 2,
      maxEventAge: Duration.seconds(21600),
      environment: {
        STACK_NAME: ctx.stackName,
        INPUT_BUCKET: s.uploadBucket.ref,
        INPUT_PREFIX: PREFIXES.input,
        MAX_UPLOAD_BYTES: p.MaxUploadBytes,
        MEDIA_BUCKET: s.mediaBucket.ref,
        KEY_PREFIX: PREFIXES.videos,
        KEYS_PREFIX: PREFIXES.keys,
        JOB_CLAIM_PREFIX: PREFIXES.jobs,
        STATUS_PREFIX: PREFIXES.status,
        MEDIACONVERT_ROLE_ARN: mediaConvertRole.attrArn,
        NOTIFY_TOPIC_ARN: noticesTopic.ref,
        NOTIFY_PROGRESS: p.NotifyProgress,
        ENCODING: p.Encoding,
        ENCRYPTION: p.Encryption,
        KEY_EXCHANGE: p.KeyExchange,
        SPEKE_URL: provider?.url ?? p.SpekeUrl,
        SPEKE_SYSTEM_IDS: p.SpekeSystemIds,
        SPEKE_CERTIFICATE_ARN: p.SpekeCertificateArn,
        TRICK_PLAY: p.TrickPlay,
        POSTER_SECONDS: p.PosterSeconds,
        AUDIO_TRACKS_MAX: p.AudioTracksMax,
        CAPTIONS: p.Captions,
        METRICS_NAMESPACE: ctx.namespace,
      },
    },
    [
      {
        checkov: 'CKV_AWS_117',
        reason: 'Reaches only S3, MediaConvert and SNS over their public endpoints; nothing private, so no VPC.',
      },
      {
        checkov: 'CKV_AWS_115',
        reason:
          'Reserved concurrency is the JobsReservedConcurrency parameter; off by default because a reservation fails on accounts under the new-account quota.',
      },
      {
        checkov: 'CKV_AWS_173',
        reason:
          'No secret in the environment (ARNs, bucket names, the ladder); Lambda encrypts it at rest with its own key.',
      },
    ],
  );

  const target = {
    id: 'mediaconvert-jobs',
    arn: fn.functionArn,
    retryPolicy: { maximumRetryAttempts: 24, maximumEventAgeInSeconds: 21600 },
    deadLetterConfig: { arn: failedEvents.attrArn },
  };
  const uploaded = new events.CfnRule(scope, 'UploadedRule', {
    description: 'A new upload becomes one MediaConvert job',
    eventPattern: {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [s.uploadBucket.ref] }, object: { key: [{ prefix: PREFIXES.input }] } },
    },
    targets: [target],
  });
  const jobState = new events.CfnRule(scope, 'JobStateRule', {
    description: "This stack's finished (or failed) MediaConvert jobs",
    eventPattern: {
      source: ['aws.mediaconvert'],
      'detail-type': ['MediaConvert Job State Change'],
      detail: {
        userMetadata: { stack: [ctx.stackName] },
        // Progress is always recorded in the video's status; NOTIFY_PROGRESS
        // only decides whether it is also published.
        status: ['PROGRESSING', 'STATUS_UPDATE', 'COMPLETE', 'ERROR'],
      },
    },
    targets: [target],
  });
  new sqs.CfnQueuePolicy(scope, 'FailedEventsPolicy', {
    queues: [failedEvents.ref],
    policyDocument: policy({
      Sid: 'RulesDeadLetters',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: failedEvents.attrArn,
      Condition: { ArnEquals: { 'aws:SourceArn': [uploaded.attrArn, jobState.attrArn] } },
    }),
  });
  for (const [id, rule] of [
    ['UploadedRuleInvoke', uploaded],
    ['JobStateRuleInvoke', jobState],
  ] as const) {
    new lambda.CfnPermission(scope, id, {
      functionName: functionRef(fn),
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
      sourceArn: rule.attrArn,
    });
  }
  return { fn, noticesTopic, failedEvents, mediaConvertRole, keyProvider: provider };
}
