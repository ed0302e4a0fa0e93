import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate from another CA, which the broker must not accept. */
  strangerCert: Buffer;
  strangerKey: Buffer;
  cleanup(): void;
}

/** Whether the openssl command is there to make certificates with. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes the certificates with the openssl command (a few hundred milliseconds). */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'broker-tls-'));
  const at = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ca = (name: string): void => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
  };
  const signed = (name: string, by: string, extensions: string): void => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(at(`${name}.ext`), extensions);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.pem`, '-CAkey', `${by}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('test-ca');
  ca('other-ca');
  signed('server', 'test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  signed('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: at('test-ca.pem'),
    certFile: at('server.pem'),
    keyFile: at('server.key'),
    ca: readFileSync(at('test-ca.pem')),
    clientCert: readFileSync(at('client.pem')),
    clientKey: readFileSync(at('client.key')),
    strangerCert: readFileSync(at('stranger.pem')),
    strangerKey: readFileSync(at('stranger.key')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
