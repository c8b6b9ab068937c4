/**
 * The SAM template's parameters, as the construct sees them.
 *
 * `HlsGateProps` are typed; inside, they become the template's own parameter
 * values (`toParameters`), checked with the template's patterns and `Rules`,
 * so both deploy paths refuse the same inputs with the same words. The test
 * `infra/tests/test_cdk.py` compares `PARAMETERS` with `infra/template.yaml`.
 */

/** What the template allows for one parameter. */
export interface ParameterSpec {
  readonly default?: string;
  readonly pattern?: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  /** `CommaDelimitedList` in the template. */
  readonly list?: boolean;
}

const BOOL = ['false', 'true'] as const;
const PEM = '^$|^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\\s]+-----END PUBLIC KEY-----\\s*$';
const RETENTION = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Every parameter of infra/template.yaml, by its name there. */
export const PARAMETERS = {
  SigningPublicKey1: { default: '', pattern: PEM, maxLength: 1024 },
  SigningPublicKey2: { default: '', pattern: PEM, maxLength: 1024 },
  JwtIssuer: { pattern: '^https://[^\\s]+$' },
  JwtAudience: { list: true },
  EntitlementClaim: { default: '' },
  EntitlementValues: { default: '' },
  EntitlementVideosClaim: { default: '' },
  EntitlementVideosWildcards: { default: 'false', values: BOOL },
  EntitlementAnyViewer: { default: 'false', values: BOOL },
  Entitlement: { default: 'claims', values: ['claims', 'dynamodb', 'webhook'] },
  GrantsTableName: { default: '', pattern: '^$|^[A-Za-z0-9_.-]{3,255}$' },
  EntitlementUrl: { default: '', pattern: '^$|^https://[^\\s]+$' },
  EntitlementClaims: { default: '', pattern: '^$|^[^\\s,]+(,[^\\s,]+)*$' },
  EntitlementCacheSeconds: { default: '5', min: 0, max: 300 },
  SignatureSeconds: { default: '300', min: 60, max: 3600 },
  SessionGraceSeconds: { default: '', pattern: '^$|^[0-9]{1,6}$' },
  Sessions: { default: 'table', values: ['table', 'stateless'] },
  MaxStreams: { default: '0', min: 0, max: 100 },
  StreamLimit: { default: 'refuse', values: ['refuse', 'evict-oldest'] },
  UnknownCountry: { default: 'refuse', values: ['refuse', 'allow'] },
  GeoRestriction: { default: 'none', values: ['none', 'allow', 'deny'] },
  GeoRestrictionCountries: { default: '', pattern: '^$|^[A-Z]{2}(,[A-Z]{2}){0,249}$' },
  PlayerOrigins: { default: '*', pattern: '^(\\*|https?://[^\\s,]+(,https?://[^\\s,]+)*)$' },
  UploadOrigins: { default: '', pattern: '^(https?://[^\\s,*]+(,https?://[^\\s,*]+)*)?$' },
  UploaderClaim: { default: 'cognito:groups', pattern: '^[A-Za-z0-9_:.-]{1,128}$' },
  UploaderValues: { default: 'editors', pattern: '^[^,\\s]+(,[^,\\s]+)*$' },
  StatusReaderValues: { default: '', pattern: '^([^,\\s]+(,[^,\\s]+)*)?$' },
  MaxUploadBytes: { default: '21474836480', min: 1, max: 5497558138880 },
  BindViewerIp: { default: 'false', values: BOOL },
  CdnAliasDomain: {
    default: '',
    pattern: '^$|^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
  },
  CdnCertificateArn: {
    default: '',
    pattern: '^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]+$',
  },
  CookieDomain: { default: '' },
  HostOnlyCookies: { default: 'false', values: BOOL },
  RewriterOrigin: { default: 'function-url', values: ['function-url', 'api'] },
  WebAclArn: {
    default: '',
    pattern: '^$|^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/[A-Za-z0-9_-]+/[0-9a-f-]+$',
  },
  IssuerRateLimit: { default: '100', min: 1 },
  IssuerBurstLimit: { default: '200', min: 1 },
  RewriterApiRateLimit: { default: '1000', min: 1 },
  RewriterApiBurstLimit: { default: '2000', min: 1 },
  AlarmEmail: { default: '', pattern: '^$|^[^@\\s]+@[^@\\s]+$' },
  RewriterReservedConcurrency: { default: '-1', min: -1 },
  IssuerReservedConcurrency: { default: '-1', min: -1 },
  JobsReservedConcurrency: { default: '-1', min: -1 },
  Encoding: { default: 'ladder', values: ['ladder', 'auto'] },
  Encryption: { default: 'aes-128', values: ['aes-128', 'sample-aes', 'none'] },
  KeyExchange: { default: 'speke', values: ['speke', 'static'] },
  SpekeUrl: { default: '', pattern: '^$|^https://[^:@/]+(:[0-9]+)?(/.*)?$' },
  SpekeSystemIds: {
    default: '',
    pattern: '^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  },
  SpekeCertificateArn: { default: '', pattern: '^$|^arn:aws(-us-gov)?:acm:.*$' },
  TrickPlay: { default: 'iframes,thumbnails', values: ['iframes,thumbnails', 'iframes', 'thumbnails', 'none'] },
  PosterSeconds: { default: '5', min: 0, max: 3600 },
  AudioTracksMax: { default: '8', min: 1, max: 16 },
  Captions: { default: 'true', values: ['true', 'false'] },
  NotifyProgress: { default: 'false', values: BOOL },
  NotificationEmail: { default: '', pattern: '^$|^[^@\\s]+@[^@\\s]+$' },
  PriceClass: { default: 'PriceClass_100', values: ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] },
  OriginSecretVersionId: { default: '', pattern: '^$|^[A-Za-z0-9-]{32,64}$' },
  LogRetentionDays: { default: '30', values: RETENTION.map(String) },
} satisfies Record<string, ParameterSpec>;

export type ParameterName = keyof typeof PARAMETERS;

/** Parameter values as the template receives them (every one a string). */
export type Parameters = Record<ParameterName, string>;

/** Thrown at synth when the props break a pattern or one of the rules. */
export class HlsGateConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`HlsGate: ${problems.join(' ')}`);
    this.name = 'HlsGateConfigError';
  }
}

/** `values` with every missing parameter at its default; throws when a
 * required one is missing or a name is unknown. */
export function withDefaults(values: Partial<Record<string, string>>): Parameters {
  const unknown = Object.keys(values).filter((k) => !(k in PARAMETERS));
  const missing: string[] = [];
  const out: Partial<Parameters> = {};
  for (const [name, spec] of Object.entries(PARAMETERS) as [ParameterName, ParameterSpec][]) {
    const v = values[name] ?? spec.default;
    if (v === undefined) missing.push(name);
    else out[name] = v;
  }
  const problems = [
    ...unknown.map((k) => `${k} is not a parameter of the template.`),
    ...missing.map((k) => `${k} needs a value.`),
  ];
  if (problems.length > 0) throw new HlsGateConfigError(problems);
  return out as Parameters;
}

/** Names of the parameters whose value the template's patterns, allowed
 * values, bounds or lengths refuse. */
export function patternViolations(p: Parameters): ParameterName[] {
  const bad: ParameterName[] = [];
  for (const [name, spec] of Object.entries(PARAMETERS) as [ParameterName, ParameterSpec][]) {
    const all = spec.list ? p[name].split(',') : [p[name]];
    const ok = all.every((v) => {
      if (spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`).test(v)) return false;
      if (spec.values !== undefined && !spec.values.includes(v)) return false;
      if (spec.maxLength !== undefined && v.length > spec.maxLength) return false;
      if (spec.min !== undefined || spec.max !== undefined) {
        if (!/^-?[0-9]+$/.test(v)) return false;
        const n = Number(v);
        if (spec.min !== undefined && n < spec.min) return false;
        if (spec.max !== undefined && n > spec.max) return false;
      }
      return true;
    });
    if (!ok) bad.push(name);
  }
  return bad;
}

/** The descriptions of the template's `Rules` assertions that `p` breaks,
 * in the template's words and order. */
export function failedRules(p: Parameters): string[] {
  const empty = (n: ParameterName) => p[n] === '';
  const failed: string[] = [];
  const check = (ok: boolean, why: string) => {
    if (!ok) failed.push(why);
  };
  check(
    (p.GeoRestriction === 'none') === empty('GeoRestrictionCountries'),
    'GeoRestriction=allow|deny needs GeoRestrictionCountries, and GeoRestrictionCountries needs GeoRestriction=allow|deny.',
  );
  check(
    !(empty('SigningPublicKey1') && empty('SigningPublicKey2')),
    'Give at least one public key (SigningPublicKey1 or SigningPublicKey2).',
  );
  check(
    !empty('EntitlementClaim') ||
      !empty('EntitlementVideosClaim') ||
      p.EntitlementAnyViewer === 'true' ||
      p.Entitlement !== 'claims',
    'Say who may watch: EntitlementClaim + EntitlementValues, EntitlementVideosClaim, EntitlementAnyViewer=true, or Entitlement=dynamodb|webhook.',
  );
  check(
    empty('EntitlementClaim') === empty('EntitlementValues'),
    'EntitlementClaim and EntitlementValues go together.',
  );
  check(
    p.EntitlementVideosWildcards === 'false' || !empty('EntitlementVideosClaim') || p.Entitlement === 'dynamodb',
    'EntitlementVideosWildcards needs EntitlementVideosClaim or Entitlement=dynamodb.',
  );
  check(
    p.EntitlementAnyViewer === 'false' || p.Entitlement === 'claims',
    'EntitlementAnyViewer=true would never ask the table or the webhook.',
  );
  check(empty('GrantsTableName') || p.Entitlement === 'dynamodb', 'GrantsTableName is for Entitlement=dynamodb.');
  check(
    empty('EntitlementUrl') === (p.Entitlement !== 'webhook'),
    'Entitlement=webhook needs EntitlementUrl, and EntitlementUrl needs Entitlement=webhook.',
  );
  check(empty('EntitlementClaims') || p.Entitlement === 'webhook', 'EntitlementClaims is for Entitlement=webhook.');
  check(
    p.MaxStreams === '0' || p.Sessions === 'table',
    'MaxStreams needs Sessions=table (stateless sessions cannot be counted).',
  );
  check(p.StreamLimit === 'refuse' || p.MaxStreams !== '0', 'StreamLimit=evict-oldest needs MaxStreams.');
  check(
    p.Encryption !== 'sample-aes' || (p.KeyExchange === 'speke' && !empty('SpekeUrl') && !empty('SpekeSystemIds')),
    "Encryption=sample-aes is a DRM vendor's; it needs KeyExchange=speke, SpekeUrl and SpekeSystemIds.",
  );
  check(
    p.KeyExchange === 'speke' || (empty('SpekeUrl') && empty('SpekeSystemIds') && empty('SpekeCertificateArn')),
    'SpekeUrl, SpekeSystemIds and SpekeCertificateArn are for KeyExchange=speke.',
  );
  check(
    !empty('SpekeUrl') || (empty('SpekeSystemIds') && empty('SpekeCertificateArn')),
    "SpekeSystemIds and SpekeCertificateArn are for a vendor's SpekeUrl (this stack's provider serves HLS AES-128).",
  );
  check(empty('CdnAliasDomain') === empty('CdnCertificateArn'), 'CdnAliasDomain and CdnCertificateArn go together.');
  check(empty('CookieDomain') || p.HostOnlyCookies === 'false', 'Choose CookieDomain or HostOnlyCookies, not both.');
  if (!empty('CookieDomain')) {
    check(!empty('CdnAliasDomain'), 'Signed cookies need CdnAliasDomain under CookieDomain.');
    check(p.PlayerOrigins !== '*', 'Signed cookies need explicit PlayerOrigins (credentials are never sent to *).');
  }
  return failed;
}

/** `values` at their defaults where missing, or an error naming every
 * pattern and rule they break. */
export function checked(values: Partial<Record<string, string>>): Parameters {
  const p = withDefaults(values);
  const problems = [
    ...patternViolations(p).map((n) => `${n} does not match what the template allows.`),
    ...failedRules(p),
  ];
  if (problems.length > 0) throw new HlsGateConfigError(problems);
  return p;
}
