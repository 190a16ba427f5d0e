/**
 * A throwaway certificate authority for tests, made with the openssl command line
 * (Node has no X.509 writer): a CA and serving certificates for given DNS names and IP addresses.
 * Keys are P-256 and live one day; everything is written under `dir`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** PEM of the CA certificate (what clients trust). */
  readonly certPem: string;
  /** A serving certificate for `dnsNames` and `ipAddresses`, signed by this CA. */
  issueServing(name: string, dnsNames: string[], ipAddresses: string[]): { keyPem: string; certPem: string };
}

function openssl(args: string[], dir: string): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.error) throw new Error(`openssl is needed for the test CA: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** Create a CA in `dir`. */
export function createTestCa(dir: string): TestCa {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=keyless-deploy container test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    issueServing(name, dnsNames, ipAddresses) {
      const san = [...dnsNames.map((d) => `DNS:${d}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(',');
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
      );
      openssl(
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${dnsNames[0] ?? ipAddresses[0] ?? name}`,
        ],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-days',
          '1',
          '-extfile',
          `${name}.ext`,
          '-out',
          `${name}.crt`,
        ],
        dir,
      );
      return {
        keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
        certPem: readFileSync(join(dir, `${name}.crt`), 'utf8'),
      };
    },
  };
}
