import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { allow, type Context, getSecret, lambdaRole, logGroup, noDlqWhenSync, PREFIXES, rustFunction } from './common';
import type { HttpApi } from './issuer';
import { mediaObjects, type Storage, uploadObjects } from './storage';

/** upload-api: routes of the issuer's HTTP API behind the same authorizer,
 * a function of their own so the issuer never holds write access to uploads
 * (docs/upload-api.md). */
export function uploads(ctx: Context, s: Storage, http: HttpApi): lambda.Function {
  const p = ctx.p;
  const logs = logGroup(ctx, 'UploadLogs');
  const role = lambdaRole(ctx, 'UploadRole', 'upload-api', logs, [
    // s3:PutObject covers CreateMultipartUpload, UploadPart (the presigned
    // URLs are signed with this role) and CompleteMultipartUpload; ListParts
    // measures what was sent.
    allow(
      'MultipartUploads',
      ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      uploadObjects(s),
    ),
    allow('ProcessingStatus', 's3:GetObject', mediaObjects(s, `${PREFIXES.status}*`)),
    getSecret('LogPseudonymKey', s.logHashSecret),
  ]);
  const fn = rustFunction(
    ctx,
    'UploadFunction',
    'upload-api',
    role,
    logs,
    {
      description: "Presigned multipart uploads for uploaders, and each video's processing status",
      environment: {
        INPUT_BUCKET: s.uploadBucket.ref,
        INPUT_PREFIX: PREFIXES.input,
        MAX_UPLOAD_BYTES: p.MaxUploadBytes,
        MEDIA_BUCKET: s.mediaBucket.ref,
        KEY_PREFIX: PREFIXES.videos,
        STATUS_PREFIX: PREFIXES.status,
        UPLOADER_CLAIM: p.UploaderClaim,
        UPLOADER_VALUES: p.UploaderValues,
        STATUS_READER_VALUES: p.StatusReaderValues !== '' ? p.StatusReaderValues : undefined,
        CORS_ALLOWED_ORIGINS: p.UploadOrigins !== '' ? p.UploadOrigins : undefined,
        LOG_HASH_KEY_SECRET_ARN: s.logHashSecret.ref,
        METRICS_NAMESPACE: ctx.namespace,
      },
    },
    [
      noDlqWhenSync('API Gateway'),
      {
        checkov: 'CKV_AWS_117',
        reason: 'Reaches only S3 and Secrets Manager over their public endpoints; nothing private, so no VPC.',
      },
      {
        checkov: 'CKV_AWS_115',
        reason:
          "Each request is a few S3 calls and API Gateway's stage throttling (IssuerRateLimit) caps the rate; a reservation fails on accounts under the new-account quota.",
      },
      {
        checkov: 'CKV_AWS_173',
        reason:
          "No secret in the environment (bucket names, claim names, the pseudonym key's ARN); Lambda encrypts it at rest with its own key.",
      },
    ],
  );
  const integration = http.integration('UploadIntegration', fn);
  http.route('UploadCreateRoute', 'POST /uploads', integration);
  http.route('UploadPartsRoute', 'GET /uploads/{upload}/parts', integration);
  http.route('UploadCompleteRoute', 'POST /uploads/{upload}/complete', integration);
  http.route('UploadAbortRoute', 'DELETE /uploads/{upload}', integration);
  http.route('UploadStatusRoute', 'GET /videos/{videoId}/status', integration);
  http.allowInvoke('UploadInvokePermission', fn, '*/*/uploads*');
  http.allowInvoke('UploadStatusInvokePermission', fn, '*/GET/videos/*/status');
  return fn;
}
