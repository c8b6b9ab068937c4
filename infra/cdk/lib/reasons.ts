import { type CfnResource, Validations } from 'aws-cdk-lib';

/**
 * Why a scanner check does not apply, in the SAM template's words: checkov
 * reads the same `Metadata.checkov.skip` there and here, and cdk-nag's
 * suppression of the matching AwsSolutions rule carries the same reason.
 */
export const REASONS = {
  logsKey:
    'CloudWatch Logs encrypts at rest with its own keys; a customer key adds cost and a key policy without changing who may read (IAM).',
  secretKey:
    'Encrypted with the AWS managed key for Secrets Manager; a customer key adds cost and a key policy without changing who may read it (only the named function roles may GetSecretValue).',
} as const;

/** One skipped checkov check, and the cdk-nag rules it answers too. */
export interface Skip {
  readonly checkov?: string;
  readonly nag?: readonly string[];
  readonly reason: string;
}

/** Writes the checkov skips into the resource's metadata and suppresses the
 * cdk-nag rules at the resource, each with its reason. */
export function skip(resource: CfnResource, ...skips: Skip[]): void {
  const checkov = skips.filter((s) => s.checkov !== undefined).map((s) => ({ id: s.checkov, comment: s.reason }));
  if (checkov.length > 0) resource.addMetadata('checkov', { skip: checkov });
  const nag = skips.flatMap((s) => (s.nag ?? []).map((id) => ({ id, reason: s.reason })));
  if (nag.length > 0) Validations.of(resource).acknowledge(...nag);
}
