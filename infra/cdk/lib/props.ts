import type { ParameterName } from './parameters';

/**
 * What a team decides about its hlsgate, one prop per parameter of
 * `infra/template.yaml` (docs/deploy.md says what each means). Omitted
 * props take the template's defaults.
 */
export interface HlsGateProps {
  /** Key slot 1: a CloudFront public key, PEM (`hlsgate keygen` writes
   * public.pem). Omit to retire the key in this slot; never change a filled
   * slot in place (empty it in one deploy, fill it in a later one). */
  readonly signingPublicKey1?: string;
  /** Key slot 2, for rotation without downtime. */
  readonly signingPublicKey2?: string;
  /** Issuer of the viewers' JWTs, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID. */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`, or `client_id` for Cognito access tokens). */
  readonly jwtAudience: string[];
  /** A claim the viewer must hold one of `entitlementValues` in, e.g. cognito:groups. */
  readonly entitlementClaim?: string;
  /** Values for `entitlementClaim`, e.g. ['subscribers', 'staff']. */
  readonly entitlementValues?: string[];
  /** A claim listing the video ids the viewer may watch; set server-side only
   * (a Cognito custom: attribute is writable by the viewer's app client). */
  readonly entitlementVideosClaim?: string;
  /** Let * and prefix* entries grant every video or a prefix. @default false */
  readonly entitlementVideosWildcards?: boolean;
  /** Every signed-in viewer may watch every video (claims only). @default false */
  readonly entitlementAnyViewer?: boolean;
  /** Where grants live (docs/entitlement.md). @default 'claims' */
  readonly entitlement?: 'claims' | 'dynamodb' | 'webhook';
  /** With entitlement 'dynamodb': an existing table; omit to have one created. */
  readonly grantsTableName?: string;
  /** With entitlement 'webhook': your https:// endpoint. */
  readonly entitlementUrl?: string;
  /** With entitlement 'webhook': the claims sent along. */
  readonly entitlementClaims?: string[];
  /** How long a table's or webhook's "allowed" is reused, 0–300 s. @default 5 */
  readonly entitlementCacheSeconds?: number;
  /** How long each signature lives, 60–3600 s; the player renews it (docs/sessions.md). @default 300 */
  readonly signatureSeconds?: number;
  /** How long after its signature expired a session may still renew. @default twice signatureSeconds */
  readonly sessionGraceSeconds?: number;
  /** 'table' records sessions (stream limits, ending them); 'stateless' records none. @default 'table' */
  readonly sessions?: 'table' | 'stateless';
  /** Active playback sessions per viewer, 0–100; 0 is no limit. Needs sessions 'table'. @default 0 */
  readonly maxStreams?: number;
  /** Past maxStreams: refuse the new start, or replace the oldest. @default 'refuse' */
  readonly streamLimit?: 'refuse' | 'evict-oldest';
  /** What a viewer CloudFront cannot place gets where a country rule exists (docs/playback-rules.md). @default 'refuse' */
  readonly unknownCountry?: 'refuse' | 'allow';
  /** A territory for the whole catalogue, enforced by CloudFront: allow only `geoRestrictionCountries`, or deny them. @default 'none' */
  readonly geoRestriction?: 'none' | 'allow' | 'deny';
  /** With `geoRestriction`, ISO 3166-1 alpha-2 codes, upper case (['DE', 'AT']). @default none */
  readonly geoRestrictionCountries?: string[];
  /** Origins of the player pages, or ['*'] for any (not with cookies). @default ['*'] */
  readonly playerOrigins?: string[];
  /** Origins of the pages that upload from the browser; never '*'. @default none (no browser uploads) */
  readonly uploadOrigins?: string[];
  /** The claim whose values make an uploader. @default 'cognito:groups' */
  readonly uploaderClaim?: string;
  /** Values of `uploaderClaim` that may upload. @default ['editors'] */
  readonly uploaderValues?: string[];
  /** Values of `uploaderClaim` that may read every video's status. @default none */
  readonly statusReaderValues?: string[];
  /** Largest upload, in bytes: the upload API assembles no more, the jobs function transcodes no more. @default 21474836480 (20 GiB) */
  readonly maxUploadBytes?: number;
  /** Bind signatures to the viewer's IPv4 address (turns IPv6 off). @default false */
  readonly bindViewerIp?: boolean;
  /** Alternate domain for the distribution; needs `cdnCertificateArn`. */
  readonly cdnAliasDomain?: string;
  /** ACM certificate for `cdnAliasDomain`, in us-east-1. */
  readonly cdnCertificateArn?: string;
  /** Signed cookies with Domain=: the parent domain of the callers and the alias. */
  readonly cookieDomain?: string;
  /** Signed cookies on the distribution's own host. @default false */
  readonly hostOnlyCookies?: boolean;
  /** How CloudFront reaches the rewriter. @default 'function-url' */
  readonly rewriterOrigin?: 'function-url' | 'api';
  /** A CloudFront-scope AWS WAF web ACL to attach (infra/edge.yaml). */
  readonly webAclArn?: string;
  /** Requests per second for GET /playback/{videoId}. @default 100 */
  readonly issuerRateLimit?: number;
  /** Burst for the issuer's routes. @default 200 */
  readonly issuerBurstLimit?: number;
  /** With rewriterOrigin 'api', requests per second. @default 1000 */
  readonly rewriterApiRateLimit?: number;
  /** With rewriterOrigin 'api', the burst. @default 2000 */
  readonly rewriterApiBurstLimit?: number;
  /** An e-mail address subscribed to the alarms topic. */
  readonly alarmEmail?: string;
  /** Concurrency reserved for (and capping) the rewriter. @default none */
  readonly rewriterReservedConcurrency?: number;
  /** Concurrency reserved for (and capping) the issuer. @default none */
  readonly issuerReservedConcurrency?: number;
  /** Concurrency reserved for (and capping) the jobs function. @default none */
  readonly jobsReservedConcurrency?: number;
  /** Fixed QVBR ladder or MediaConvert automated ABR. @default 'ladder' */
  readonly encoding?: 'ladder' | 'auto';
  /** Per-video AES-128 keys, plain segments, or a DRM vendor's SAMPLE-AES
   * (FairPlay) ladder. @default 'aes-128' */
  readonly encryption?: 'aes-128' | 'sample-aes' | 'none';
  /** How MediaConvert gets each job's key: asked of a SPEKE key provider
   * (this stack's, or `spekeUrl`), or written into the job, where anyone
   * allowed `mediaconvert:GetJob` reads it. @default 'speke' */
  readonly keyExchange?: 'speke' | 'static';
  /** A DRM vendor's SPEKE endpoint instead of this stack's key provider. */
  readonly spekeUrl?: string;
  /** The one DRM system id the vendor gave (HLS groups take one). */
  readonly spekeSystemIds?: string;
  /** An ACM certificate for SPEKE content key encryption. */
  readonly spekeCertificateArn?: string;
  /** I-frame playlists and/or thumbnails. @default 'iframes,thumbnails' */
  readonly trickPlay?: 'iframes,thumbnails' | 'iframes' | 'thumbnails' | 'none';
  /** The poster's second; 0 for none. @default 5 */
  readonly posterSeconds?: number;
  /** Most audio streams made into renditions, 1–16. @default 8 */
  readonly audioTracksMax?: number;
  /** Take caption files beside each upload. @default true */
  readonly captions?: boolean;
  /** Also publish job progress on the notices topic. @default false */
  readonly notifyProgress?: boolean;
  /** An e-mail address subscribed to the notices topic. */
  readonly notificationEmail?: string;
  /** CloudFront price class. @default 'PriceClass_100' */
  readonly priceClass?: 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All';
  /** After putting a new origin secret value, its VersionId. */
  readonly originSecretVersionId?: string;
  /** Log retention, one of CloudWatch's values. @default 30 */
  readonly logRetentionDays?: number;
  /** The workspace's Cargo.toml the functions are built from. @default this repository's */
  readonly manifestPath?: string;
}

type Kind = 'string' | 'list' | 'bool' | 'number';

/** Each parameter's prop and how its value is written. */
export const PARAMETER_PROPS: Record<ParameterName, [keyof HlsGateProps, Kind]> = {
  SigningPublicKey1: ['signingPublicKey1', 'string'],
  SigningPublicKey2: ['signingPublicKey2', 'string'],
  JwtIssuer: ['jwtIssuer', 'string'],
  JwtAudience: ['jwtAudience', 'list'],
  EntitlementClaim: ['entitlementClaim', 'string'],
  EntitlementValues: ['entitlementValues', 'list'],
  EntitlementVideosClaim: ['entitlementVideosClaim', 'string'],
  EntitlementVideosWildcards: ['entitlementVideosWildcards', 'bool'],
  EntitlementAnyViewer: ['entitlementAnyViewer', 'bool'],
  Entitlement: ['entitlement', 'string'],
  GrantsTableName: ['grantsTableName', 'string'],
  EntitlementUrl: ['entitlementUrl', 'string'],
  EntitlementClaims: ['entitlementClaims', 'list'],
  EntitlementCacheSeconds: ['entitlementCacheSeconds', 'number'],
  SignatureSeconds: ['signatureSeconds', 'number'],
  SessionGraceSeconds: ['sessionGraceSeconds', 'number'],
  Sessions: ['sessions', 'string'],
  MaxStreams: ['maxStreams', 'number'],
  StreamLimit: ['streamLimit', 'string'],
  UnknownCountry: ['unknownCountry', 'string'],
  GeoRestriction: ['geoRestriction', 'string'],
  GeoRestrictionCountries: ['geoRestrictionCountries', 'list'],
  PlayerOrigins: ['playerOrigins', 'list'],
  UploadOrigins: ['uploadOrigins', 'list'],
  UploaderClaim: ['uploaderClaim', 'string'],
  UploaderValues: ['uploaderValues', 'list'],
  StatusReaderValues: ['statusReaderValues', 'list'],
  MaxUploadBytes: ['maxUploadBytes', 'number'],
  BindViewerIp: ['bindViewerIp', 'bool'],
  CdnAliasDomain: ['cdnAliasDomain', 'string'],
  CdnCertificateArn: ['cdnCertificateArn', 'string'],
  CookieDomain: ['cookieDomain', 'string'],
  HostOnlyCookies: ['hostOnlyCookies', 'bool'],
  RewriterOrigin: ['rewriterOrigin', 'string'],
  WebAclArn: ['webAclArn', 'string'],
  IssuerRateLimit: ['issuerRateLimit', 'number'],
  IssuerBurstLimit: ['issuerBurstLimit', 'number'],
  RewriterApiRateLimit: ['rewriterApiRateLimit', 'number'],
  RewriterApiBurstLimit: ['rewriterApiBurstLimit', 'number'],
  AlarmEmail: ['alarmEmail', 'string'],
  RewriterReservedConcurrency: ['rewriterReservedConcurrency', 'number'],
  IssuerReservedConcurrency: ['issuerReservedConcurrency', 'number'],
  JobsReservedConcurrency: ['jobsReservedConcurrency', 'number'],
  Encoding: ['encoding', 'string'],
  Encryption: ['encryption', 'string'],
  KeyExchange: ['keyExchange', 'string'],
  SpekeUrl: ['spekeUrl', 'string'],
  SpekeSystemIds: ['spekeSystemIds', 'string'],
  SpekeCertificateArn: ['spekeCertificateArn', 'string'],
  TrickPlay: ['trickPlay', 'string'],
  PosterSeconds: ['posterSeconds', 'number'],
  AudioTracksMax: ['audioTracksMax', 'number'],
  Captions: ['captions', 'bool'],
  NotifyProgress: ['notifyProgress', 'bool'],
  NotificationEmail: ['notificationEmail', 'string'],
  PriceClass: ['priceClass', 'string'],
  OriginSecretVersionId: ['originSecretVersionId', 'string'],
  LogRetentionDays: ['logRetentionDays', 'number'],
};

/** The template's parameter values for `props` (omitted props stay out, so
 * the template's defaults apply). */
export function toParameters(props: HlsGateProps): Partial<Record<ParameterName, string>> {
  const out: Partial<Record<ParameterName, string>> = {};
  for (const [name, [prop, kind]] of Object.entries(PARAMETER_PROPS) as [ParameterName, [keyof HlsGateProps, Kind]][]) {
    const v = props[prop];
    if (v === undefined) continue;
    out[name] = kind === 'list' ? (v as string[]).join(',') : String(v);
  }
  return out;
}

/** Props from the template's parameter values (a `sam deploy` parameter file,
 * or `infra/tools/scenarios.py`): the way from SAM to this construct. */
export function fromParameters(values: Record<string, string>): HlsGateProps {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const entry = PARAMETER_PROPS[name as ParameterName];
    if (entry === undefined) throw new Error(`HlsGate: ${name} is not a parameter of the template.`);
    const [prop, kind] = entry;
    if (kind === 'list') out[prop] = value === '' ? [] : value.split(',');
    else if (kind === 'bool') out[prop] = value === 'true' ? true : value === 'false' ? false : value;
    else if (kind === 'number') out[prop] = /^-?[0-9]+$/.test(value) ? Number(value) : value;
    else out[prop] = value;
  }
  return out as unknown as HlsGateProps;
}
