import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files of a throwaway CA, a server certificate and a client certificate, in a temp directory. */
export interface TestCertificates {
  readonly dir: string;
  /** Paths of the PEM files. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A file's bytes (for grpc-js and tls options, which take buffers). */
  read(path: string): Buffer;
  /** Deletes the directory (keys included). Idempotent. */
  remove(): void;
}

export interface TestCertificateOptions {
  /** subjectAltName DNS names of the server certificate. Default `localhost`. */
  serverNames?: string[];
  /** subjectAltName IP addresses of the server certificate. Default `127.0.0.1`, `::1`. */
  serverIps?: string[];
}

/**
 * Makes certificates with the `openssl` CLI at test time (P-256 keys, valid for a day), so no key is
 * ever committed: a CA, a server certificate it signs (serverAuth, SANs for loopback) and a client
 * certificate it signs (clientAuth) for mTLS.
 */
export function makeTestCertificates(options: TestCertificateOptions = {}): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "refract-certs-"));
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  };
  const key = (name: string): void =>
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(name));
  try {
    key("ca.key");
    openssl(
      ...["req", "-x509", "-new", "-key", path("ca.key"), "-out", path("ca.crt"), "-days", "1"],
      ...["-subj", "/CN=Refract Test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
      ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    );
    const sans = [
      ...(options.serverNames ?? ["localhost"]).map((name) => `DNS:${name}`),
      ...(options.serverIps ?? ["127.0.0.1", "::1"]).map((ip) => `IP:${ip}`),
    ];
    const sign = (name: string, subject: string, extensions: string): void => {
      key(`${name}.key`);
      openssl("req", "-new", "-key", path(`${name}.key`), "-out", path(`${name}.csr`), "-subj", subject);
      writeFileSync(path(`${name}.ext`), extensions);
      openssl(
        ...["x509", "-req", "-in", path(`${name}.csr`), "-CA", path("ca.crt"), "-CAkey", path("ca.key")],
        ...["-set_serial", String(Date.now() + name.length), "-days", "1", "-sha256"],
        ...["-extfile", path(`${name}.ext`), "-out", path(`${name}.crt`)],
      );
    };
    sign(
      "server",
      "/CN=localhost",
      `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
    );
    sign(
      "client",
      "/CN=refract-gateway",
      "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl failed: ${(error as { stderr?: Buffer }).stderr?.toString() ?? error}`);
  }
  return {
    dir,
    caCert: path("ca.crt"),
    serverCert: path("server.crt"),
    serverKey: path("server.key"),
    clientCert: path("client.crt"),
    clientKey: path("client.key"),
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
