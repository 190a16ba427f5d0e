/**
 * The certificates of a local control plane, made with the `openssl` command (OpenSSL 3): a CA,
 * the API server's serving certificate, client certificates (the API server authenticates users by
 * them: CN is the user name, each O a group) and the service-account signing key. ECDSA P-256
 * keys: quick to make, accepted by every component.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, PEM. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

/** Names the API server's serving certificate is valid for (loopback and in-cluster names). */
const SERVING_NAMES = [
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  'IP:127.0.0.1',
  'IP:10.0.0.1',
];

/** A user name or group that fits in a certificate subject without escaping. */
const SUBJECT_PART = /^[A-Za-z0-9][A-Za-z0-9:._@-]{0,127}$/;

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const cause = error as NodeJS.ErrnoException & { stderr?: string };
    if (cause.code === 'ENOENT')
      throw new Error(
        'the openssl command is needed to make the control plane certificates; install OpenSSL 3',
      );
    throw new Error(`openssl ${args[0]} failed: ${cause.stderr ?? cause.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The PKI of one control plane, kept in `dir` (reused when it exists). */
export class ControlPlanePki {
  readonly ca: KeyPair;

  private constructor(
    private readonly dir: string,
    ca: KeyPair,
  ) {
    this.ca = ca;
  }

  /** Load the PKI in `dir`, making the CA and the service-account key when missing. */
  static async open(dir: string): Promise<ControlPlanePki> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const certFile = join(dir, 'ca.crt');
    const keyFile = join(dir, 'ca.key');
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      await openssl([
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '3650',
        '-subj',
        '/CN=keyless-deploy-local-ca',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ]);
    }
    const pki = new ControlPlanePki(dir, read(certFile, keyFile));
    await pki.serviceAccountKey();
    return pki;
  }

  /** The key pair that signs ServiceAccount tokens (`sa.key`, public half `sa.pub`). */
  async serviceAccountKey(): Promise<{ keyFile: string; publicKeyFile: string }> {
    const keyFile = join(this.dir, 'sa.key');
    const publicKeyFile = join(this.dir, 'sa.pub');
    if (!existsSync(keyFile) || !existsSync(publicKeyFile)) {
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
      await openssl(['pkey', '-in', keyFile, '-pubout', '-out', publicKeyFile]);
    }
    return { keyFile, publicKeyFile };
  }

  /** The API server's serving certificate. */
  serving(): Promise<KeyPair> {
    return this.issue('kube-apiserver', '/CN=kube-apiserver', [
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${SERVING_NAMES.join(',')}`,
    ]);
  }

  /** A client certificate for `user` in `groups` (file name `file`, reused when present). */
  client(
    user: string,
    groups: readonly string[] = [],
    file = user.replace(/[^A-Za-z0-9-]+/g, '_'),
  ): Promise<KeyPair> {
    for (const part of [user, ...groups])
      if (!SUBJECT_PART.test(part))
        throw new Error(`not a usable user or group name: ${JSON.stringify(part)}`);
    const subject = `${groups.map((group) => `/O=${group}`).join('')}/CN=${user}`;
    return this.issue(`client-${file}`, subject, ['extendedKeyUsage=clientAuth']);
  }

  private async issue(name: string, subject: string, extensions: string[]): Promise<KeyPair> {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      await openssl([
        'req',
        '-x509',
        ...EC_KEY,
        '-CA',
        this.ca.certFile,
        '-CAkey',
        this.ca.keyFile,
        '-set_serial',
        `0x${randomBytes(12).toString('hex')}`,
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '825',
        '-subj',
        subject,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        ...extensions.flatMap((extension) => ['-addext', extension]),
      ]);
    }
    return read(certFile, keyFile);
  }
}

function read(certFile: string, keyFile: string): KeyPair {
  return {
    certFile,
    keyFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
  };
}

/** A kubeconfig that authenticates with a client certificate (data inlined) or a bearer token. */
export function kubeconfigYaml(options: {
  server: string;
  caPem: string;
  user: string;
  client?: Pick<KeyPair, 'certPem' | 'keyPem'>;
  token?: string;
  namespace?: string;
}): string {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  const user = options.client
    ? `    client-certificate-data: ${b64(options.client.certPem)}\n    client-key-data: ${b64(options.client.keyPem)}\n`
    : `    token: ${options.token ?? ''}\n`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${options.server}`,
    `    certificate-authority-data: ${b64(options.caPem)}`,
    'users:',
    `- name: ${JSON.stringify(options.user)}`,
    '  user:',
    user.trimEnd(),
    'contexts:',
    '- name: local',
    '  context:',
    '    cluster: local',
    `    user: ${JSON.stringify(options.user)}`,
    ...(options.namespace ? [`    namespace: ${options.namespace}`] : []),
    'current-context: local',
    '',
  ].join('\n');
}

/** Write a file only its owner can read. */
export function writePrivateFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}
