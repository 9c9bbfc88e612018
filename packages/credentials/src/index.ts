/**
 * @promfleet/credentials: the one place where promfleet gets TLS material and credentials right, so that every
 * connection it makes or accepts loads certificates, checks them, follows their rotation, reads credential files and
 * refuses the files it must not read in the same way. It serves:
 *
 * - the master's connection to the Kubernetes API server with a `kubernetes_sd_config`'s own HTTP client settings;
 * - the worker's scrape and remote-write clients, whose settings (and `*_file` names) come from the master, so their
 *   files are read only under the directories the worker was started with (`--worker.secret-dirs`);
 * - the fleet gRPC link: the master's server certificate and client CA, the worker's client certificate, CA and
 *   token file.
 *
 * Errors name the setting and the file, never the content.
 */
export { CredentialsConfigError, CredentialsErrorCode, SecretFileRefusedError, type CredentialsErrorCodeValue } from './errors.js';
export { authorizationHeader, checkSecretFiles, requestHeaders, type HeaderOptions } from './headers.js';
export { SecretFilePolicy, type FileUse } from './policy.js';
export { readSecretFile, type SecretFileRead } from './secret-file.js';
export { TlsFiles, type TlsFieldNames, type TlsFilesOptions, type TlsMaterial, type TlsParts } from './tls-files.js';
