/**
 * The gateway server's configuration (`veil serve --config FILE`, YAML or JSON): where the durable state lives (spool,
 * store, queue), what comes in (ingress), where it goes (destinations), which route joins them and with what policy,
 * and the retry, lease and study timings. Validated here; relative paths are resolved by the app against the file's
 * folder. Errors are `ConfigError`s naming the setting, never a value.
 *
 * Example (YAML):
 *   spool: ./spool
 *   store: { kind: sqlite, path: ./veil.db }
 *   queue: { kind: embedded }
 *   key: { file: /etc/veil/veil.key }
 *   deid: ./deid.config.json
 *   ingress:
 *     - { name: inbox, kind: folder, path: ./inbox }
 *     - { name: modalities, kind: dimse, aeTitle: VEIL, port: 11112 }
 *     - { name: web, kind: stow, port: 8080, root: /dicom-web }
 *   destinations: [{ name: research, kind: folder, path: ./out }]
 *   routes: [{ name: default, from: [inbox], to: [research], policy: { sopClasses: [1.2.840.10008.5.1.4.1.1.2] } }]
 *
 *   const config = parseServerConfig(yaml.parse(text));
 */
import { z } from 'zod';
import { egressDestinationSchemas, inferDestinationKind } from './destination-config.ts';
import {
  auditSchema,
  consoleSchema,
  contractFields,
  crosswalkSchema,
  governanceIssue,
  governanceSchema,
  portalSchema,
  routePurposeFields,
} from './governance-config.ts';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

const name = z.string().regex(NAME, 'letters, digits, ".", "_" or "-" (at most 64)');
const path = z.string().min(1);

const policySchema = z.strictObject({
  /** SOP Class UIDs let through; absent: all. */
  sopClasses: z.array(z.string().regex(UID).max(64)).optional(),
});

const folderIngress = z.strictObject({
  name,
  kind: z.literal('folder'),
  path,
  /** How often the folder is scanned (a file-system watch also wakes it). */
  pollMs: z.number().int().min(10).max(60_000).default(500),
  /** A file is taken once unchanged for this long (a writer may still be filling it). */
  settleMs: z.number().int().min(0).max(600_000).default(500),
});

const AE = z
  .string()
  .regex(/^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/, 'an AE title (1 to 16 characters)');

/** TLS for a listener: PEM files; `clientCa` asks every client for a certificate signed by it (mutual TLS). */
const tlsSchema = z.strictObject({ cert: path, key: path, clientCa: path.optional() });

/** A bearer token as stored: `sha256:<hex>` or `scrypt:N:r:p:<salt>:<hash>` (`veil token` prints one). */
const TOKEN_HASH = /^(sha256:[0-9a-f]{64}|scrypt:\d+:\d+:\d+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+)$/;

/**
 * Who may use an HTTP listener: any of these bearer tokens, or (mtls) a client certificate the client CA verified.
 * SHA-256 hashes only: tokens are random (256 bits), and a slow hash checked on every request would cost more than
 * an attacker's request does.
 */
const authSchema = z.strictObject({
  tokens: z
    .array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a token hash, sha256:<hex> (see `veil token`)'))
    .default([]),
  mtls: z.boolean().default(false),
});

/** Host header values accepted (names or addresses, no port); absent: the loopback names and the bound address. */
const allowedHosts = z.array(z.string().min(1).max(253)).min(1).optional();

const dimseLimits = z.strictObject({
  /** Associations open at once, in all (more: A-ASSOCIATE-RJ transient, local-limit-exceeded). */
  maxAssociations: z.number().int().min(1).max(10_000).default(100),
  /** Associations open at once from one peer address. */
  maxAssociationsPerPeer: z.number().int().min(1).max(10_000).default(10),
  /** TCP connections at once (negotiating included); more are closed at once. */
  maxConnections: z.number().int().min(1).max(20_000).default(200),
  maxConnectionsPerPeer: z.number().int().min(1).max(20_000).default(20),
  /** Time from connection to a complete A-ASSOCIATE-RQ (PS3.8 ARTIM). */
  associateSeconds: z.number().min(0.1).max(600).default(10),
  /** Nothing received for this long on an open association: A-ABORT. */
  idleSeconds: z.number().min(0.1).max(86_400).default(120),
  /** Once a PDU has begun, its last byte must arrive within this (a trickling peer cannot reset it). */
  pduSeconds: z.number().min(0.1).max(86_400).default(120),
  /** Longest life of one association, whatever it does. */
  maxAssociationSeconds: z
    .number()
    .min(1)
    .max(7 * 86_400)
    .default(3600),
});

/** DICOM C-STORE SCP (DIMSE): instances stored to this AE are Veil's once the C-STORE-RSP says Success. */
const dimseIngress = z.strictObject({
  name,
  kind: z.literal('dimse'),
  aeTitle: AE.default('VEIL'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(11112),
  /** Calling AE titles allowed; absent: any. */
  callingAeTitles: z.array(AE).optional(),
  /** DICOM TLS (PS3.15 B.1): with clientCa, a peer without a certificate signed by it fails the handshake. */
  tls: tlsSchema.optional(),
  /** User identity negotiation (PS3.7 D.3.3.7), username + passcode; passcodes stored as token hashes. */
  userIdentity: z
    .strictObject({
      /** Refuse associations that do not present a listed user. */
      required: z.boolean().default(true),
      users: z
        .array(z.strictObject({ username: z.string().min(1).max(256), passcode: z.string().regex(TOKEN_HASH) }))
        .min(1),
    })
    .optional(),
  limits: dimseLimits.default(dimseLimits.parse({})),
});

const stowLimits = z.strictObject({
  /** Open connections at once (more are refused by the socket layer). */
  maxConnections: z.number().int().min(1).max(10_000).default(64),
  /** Time to receive the request line and headers. */
  headersSeconds: z.number().min(0.1).max(3600).default(30),
  /** Time to receive a whole request, body included (408 / connection closed after). */
  requestSeconds: z.number().min(1).max(86_400).default(900),
  /** Largest single instance (part): 413 when nothing else was stored. */
  maxInstanceBytes: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 50)
    .default(2 * 1024 ** 3),
  /** Largest request body: 413. */
  maxRequestBytes: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 50)
    .default(4 * 1024 ** 3),
});

/** DICOMweb STOW-RS: instances posted here are Veil's once the response lists them as stored. */
const stowIngress = z.strictObject({
  name,
  kind: z.literal('stow'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  root: z
    .string()
    .regex(/^(\/[A-Za-z0-9._-]+)*$/)
    .default('/dicom-web'),
  tls: tlsSchema.optional(),
  /** Absent: no credentials asked (and a warning when bound beyond loopback). */
  auth: authSchema.optional(),
  allowedHosts,
  limits: stowLimits.default(stowLimits.parse({})),
});

const ingressSchema = z.discriminatedUnion('kind', [folderIngress, dimseIngress, stowIngress]);

const folderDestination = z.strictObject({
  name,
  kind: z.literal('folder'),
  path,
  /** flat: <SOPInstanceUID>.dcm; hierarchy: <patient>/<study>/<series>/<SOPInstanceUID>.dcm (pseudonymised values). */
  layout: z.enum(['flat', 'hierarchy']).default('flat'),
  ...contractFields,
});

/** Folder, DICOM node, DICOMweb or S3; { name, url } alone takes its kind from the URL (destination-config.ts). */
const destinationSchema = z.preprocess(
  inferDestinationKind,
  z.discriminatedUnion('kind', [folderDestination, ...egressDestinationSchemas({ ...contractFields })]),
);

const routeSchema = z.strictObject({
  name,
  /** Ingress names; absent: every ingress. */
  from: z.array(name).optional(),
  to: z.array(name).min(1),
  policy: policySchema.optional(),
  ...routePurposeFields,
});

const storeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sqlite'), path }),
  z.strictObject({
    kind: z.literal('postgres'),
    /** postgres://user@host:port/db (a password may come from PGPASSWORD instead). */
    url: z.string().min(1),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/)
      .default('veil'),
  }),
]);

const queueSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('embedded') }),
  z.strictObject({
    kind: z.literal('bullmq'),
    url: z.string().min(1).default('redis://127.0.0.1:6379'),
    prefix: z.string().regex(NAME).default('veil'),
    /** Seconds before a dead worker's message is handed out again. */
    lockSeconds: z.number().min(1).max(3600).default(30),
  }),
]);

const serverSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Veil's own durable folder: received bytes, de-identified outputs, quarantine. Shared storage in scale-out. */
  spool: path,
  store: storeSchema,
  queue: queueSchema.default({ kind: 'embedded' }),
  /** The project key: a file, or the environment variable (default VEIL_KEY). */
  key: z
    .strictObject({
      file: path.optional(),
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .optional(),
    })
    .default({}),
  /** A `veil deid` configuration: a file path, or the same settings inline. */
  deid: z.union([path, z.record(z.string(), z.unknown())]).optional(),
  ingress: z.array(ingressSchema).default([]),
  destinations: z.array(destinationSchema).min(1),
  routes: z.array(routeSchema).optional(),
  /** Default policy for routes without one. */
  policy: policySchema.default({}),
  processing: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).default(4),
      /** Transient processing errors are retried this many times in all. */
      maxAttempts: z.number().int().min(1).max(100).default(3),
      leaseSeconds: z.number().min(1).max(3600).default(30),
      /**
       * Worker threads that run the processing steps (the release path) off the event loop; a job whose thread dies
       * is retried, then quarantined WORKER_CRASHED.
       */
      threads: z.number().int().min(1).max(64).default(2),
      /** V8 heap limit of each processing thread (MB): a file that needs more kills only its thread. */
      threadHeapMb: z.number().int().min(64).max(65_536).default(1024),
      /**
       * A second, different instance under an already claimed de-identified SOP Instance UID: held
       * (DUPLICATE_UID_CONFLICT, default) or kept beside the first as a new version (folder and S3 destinations name
       * it `<uid>.v<n>.dcm`). An identical re-send is idempotent either way.
       */
      duplicateUid: z.enum(['quarantine', 'version']).default('quarantine'),
    })
    .default({
      concurrency: 4,
      maxAttempts: 3,
      leaseSeconds: 30,
      threads: 2,
      threadHeapMb: 1024,
      duplicateUid: 'quarantine',
    }),
  delivery: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(1000).default(6),
      /** First retry after this long, doubling each time up to maxBackoffSeconds. */
      backoffSeconds: z.number().min(0).max(86_400).default(2),
      maxBackoffSeconds: z.number().min(0).max(86_400).default(300),
      concurrency: z.number().int().min(1).max(256).default(4),
      leaseSeconds: z.number().min(1).max(3600).default(60),
    })
    .default({ maxAttempts: 6, backoffSeconds: 2, maxBackoffSeconds: 300, concurrency: 4, leaseSeconds: 60 }),
  studies: z
    .strictObject({
      stableAfterSeconds: z
        .number()
        .min(0)
        .max(7 * 86_400)
        .default(60),
    })
    .default({ stableAfterSeconds: 60 }),
  /** Network ingress refuses new instances (C-STORE 0xA700, STOW-RS 507) while the spool's file system has less free. */
  spoolQuota: z
    .strictObject({
      minFreeBytes: z
        .number()
        .int()
        .min(0)
        .default(512 * 1024 ** 2),
    })
    .default({ minFreeBytes: 512 * 1024 ** 2 }),
  /**
   * Re-identification risk after every batch (a pull job; a destination's deliveries of one UTC day): the k and l to
   * reach (a report under k warns); pull requests may set their own.
   */
  risk: z
    .strictObject({
      k: z.number().int().min(2).max(1000).default(5),
      l: z.number().int().min(1).max(1000).default(2),
    })
    .default({ k: 5, l: 2 }),
  /** Period of the sweeper: studies, due retries, expired leases. */
  sweepSeconds: z.number().min(0.05).max(3600).default(5),
  http: z
    .union([
      z.literal(false),
      z.strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(9464),
        tls: tlsSchema.optional(),
        /** Required for /metrics and /status when set; /admin/* always needs a token (this or the run file's). */
        auth: authSchema.optional(),
        allowedHosts,
        /** Largest request body the admin API takes (POST /api/pulls: a study list); over it: 413 PULL_REQUEST_TOO_LARGE. */
        maxRequestBytes: z
          .number()
          .int()
          .min(1024)
          .max(256 * 1024 * 1024)
          .default(4 * 1024 * 1024),
      }),
    ])
    .default({ host: '127.0.0.1', port: 9464, maxRequestBytes: 4 * 1024 * 1024 }),
  /** Gateway pull jobs (POST /api/pulls). */
  pulls: z
    .strictObject({
      /**
       * DICOMweb sources that ask for a bearer token: a pull whose source URL is `url` or under it sends the first line
       * of `tokenFile`, read when the pull starts (the pull stores its URL only, never the token).
       */
      dicomweb: z
        .array(
          z.strictObject({
            url: z.string().regex(/^https?:\/\/[^\s@?#]+$/),
            tokenFile: z.string().min(1),
          }),
        )
        .default([]),
    })
    .default({ dicomweb: [] }),
  /** Purposes of use, region policy, facility (governance-config.ts). */
  governance: governanceSchema,
  /** Signed checkpoints of the audit chain. */
  audit: auditSchema,
  /** The encrypted crosswalk kept by the gateway (sealed to crosswalk.publicKey); off when absent. */
  crosswalk: crosswalkSchema,
  /** The operators' web console and the patient portal, on the http port. */
  console: consoleSchema,
  portal: portalSchema,
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .default({ level: 'info' }),
});

export type ServerConfig = z.infer<typeof serverSchema>;
export type IngressConfig = z.infer<typeof ingressSchema>;
export type FolderIngressConfig = z.infer<typeof folderIngress>;
export type DimseIngressConfig = z.infer<typeof dimseIngress>;
export type StowIngressConfig = z.infer<typeof stowIngress>;
export type TlsConfig = z.infer<typeof tlsSchema>;
export type HttpAuthConfig = z.infer<typeof authSchema>;
export type FolderDestinationConfig = z.infer<typeof folderDestination>;
export type DestinationConfig = ServerConfig['destinations'][number];

/** Validates one destination (a `veil pull --to` target, say); throws ConfigError naming the setting. */
export function parseDestinationConfig(input: unknown): DestinationConfig {
  const r = destinationSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(issue.path.map(String).join('.'), issue.message);
  }
  return r.data;
}
export type StoreConfig = ServerConfig['store'];
export type QueueConfig = ServerConfig['queue'];
export type PolicyConfig = z.infer<typeof policySchema>;

export interface RouteConfig {
  readonly name: string;
  /** Undefined: every ingress. */
  readonly from: readonly string[] | undefined;
  readonly to: readonly string[];
  readonly policy: PolicyConfig;
  readonly purpose?: string | undefined;
  readonly legalBasis?: string | undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '(top level)'}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Validates a configuration; throws ConfigError for the first problem (setting path + what is expected). */
export function parseServerConfig(input: unknown): ServerConfig {
  const r = serverSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    // The issue message says what was expected; zod does not quote the value it got.
    throw new ConfigError(issue.path.map(String).join('.'), issue.message);
  }
  const config = r.data;
  const unique = (what: string, names: string[]): void => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw new ConfigError(what, `the name "${n}" is used twice`);
      seen.add(n);
    }
  };
  unique(
    'ingress',
    config.ingress.map((i) => i.name),
  );
  unique(
    'destinations',
    config.destinations.map((d) => d.name),
  );
  unique(
    'routes',
    (config.routes ?? []).map((r) => r.name),
  );
  const dests = new Set(config.destinations.map((d) => d.name));
  const ingress = new Set(config.ingress.map((i) => i.name));
  for (const [i, route] of (config.routes ?? []).entries()) {
    for (const d of route.to) if (!dests.has(d)) throw new ConfigError(`routes.${i}.to`, `no destination "${d}"`);
    for (const f of route.from ?? [])
      if (!ingress.has(f)) throw new ConfigError(`routes.${i}.from`, `no ingress "${f}"`);
  }
  // mTLS as a credential needs the CA that verifies client certificates; without it no certificate would ever count.
  const mtlsWithoutCa = 'needs tls.clientCa (the CA that client certificates are verified against)';
  for (const [i, ing] of config.ingress.entries()) {
    if (ing.kind === 'stow' && ing.auth?.mtls && ing.tls?.clientCa === undefined)
      throw new ConfigError(`ingress.${i}.auth.mtls`, mtlsWithoutCa);
  }
  if (config.http !== false && config.http.auth?.mtls && config.http.tls?.clientCa === undefined)
    throw new ConfigError('http.auth.mtls', mtlsWithoutCa);
  const governance = governanceIssue(config);
  if (governance) throw new ConfigError(governance.path, governance.reason);
  return config;
}

/** The routes in force: the configured ones, or one route `default` from every ingress to every destination. */
export function routesOf(config: ServerConfig): RouteConfig[] {
  if (config.routes && config.routes.length > 0) {
    return config.routes.map((r) => ({
      name: r.name,
      from: r.from,
      to: r.to,
      policy: r.policy ?? config.policy,
      purpose: r.purpose,
      legalBasis: r.legalBasis,
    }));
  }
  return [{ name: 'default', from: undefined, to: config.destinations.map((d) => d.name), policy: config.policy }];
}

/** The first route that takes instances from this ingress, if any. */
export function routeFor(routes: readonly RouteConfig[], ingress: string): RouteConfig | undefined {
  return routes.find((r) => r.from === undefined || r.from.includes(ingress));
}

/** Delay before retry number `attempt` (1 = first retry): backoff * 2^(attempt-1), capped, with ±10% jitter. */
export function retryDelayMs(
  attempt: number,
  backoffSeconds: number,
  maxBackoffSeconds: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxBackoffSeconds, backoffSeconds * 2 ** Math.max(0, attempt - 1)) * 1000;
  return Math.round(base * (0.9 + 0.2 * random()));
}
