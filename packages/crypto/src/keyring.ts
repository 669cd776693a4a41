import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, open as openFile, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inspect } from 'node:util';

import { CryptoError } from './errors.ts';
import { CIPHER, FORMAT_MAGIC, KEY_LENGTH, NONCE_LENGTH, TAG_LENGTH } from './format.ts';
import { hkdfSha256 } from './keys.ts';

/** Options of {@link MasterKeyRing.open}. */
export interface MasterKeyRingOptions {
  /** Directory holding keyring.json (created with mode 0700 if missing), e.g. DATA/keys. */
  dir: string;
}

/** On-disk shape of a key ring file. */
interface KeyRingFile {
  v: 1;
  active: string;
  keys: { id: string; key: string; created: string }[];
}

interface RingKey {
  id: string;
  key: Buffer;
  created: string;
}

/** The file name inside MasterKeyRingOptions.dir. */
export const KEYRING_FILE = 'keyring.json';
const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const SEAL_INFO = `${FORMAT_MAGIC}/seal`;

function invalid(path: string, why: string): CryptoError {
  // Never include file content: it holds keys (JSON.parse messages quote the text, so no cause either).
  return new CryptoError('CRYPTO_INVALID_KEYRING', `key ring ${path} is invalid: ${why}`, { details: { path } });
}

function newKeyId(taken: Set<string>, now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  for (;;) {
    const id = `mk-${day}-${randomBytes(2).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

function parseRing(text: string, path: string): { active: string; keys: Map<string, RingKey> } {
  let json: KeyRingFile;
  try {
    json = JSON.parse(text) as KeyRingFile;
  } catch {
    throw invalid(path, 'not JSON');
  }
  if (!json || typeof json !== 'object' || json.v !== 1) throw invalid(path, 'v must be 1');
  if (!Array.isArray(json.keys) || json.keys.length === 0) throw invalid(path, 'keys must be a non-empty array');
  const keys = new Map<string, RingKey>();
  for (const [i, k] of json.keys.entries()) {
    if (!k || typeof k.id !== 'string' || !ID_RE.test(k.id)) throw invalid(path, `keys[${i}].id is not a valid key id`);
    if (keys.has(k.id)) throw invalid(path, `key id ${k.id} appears twice`);
    const key = typeof k.key === 'string' ? Buffer.from(k.key, 'base64') : undefined;
    if (!key || key.length !== KEY_LENGTH || key.toString('base64') !== k.key) {
      throw invalid(path, `keys[${i}].key must be ${KEY_LENGTH} bytes, base64`);
    }
    keys.set(k.id, { id: k.id, key, created: typeof k.created === 'string' ? k.created : '' });
  }
  if (typeof json.active !== 'string' || !keys.has(json.active)) throw invalid(path, 'active names no key in keys');
  return { active: json.active, keys };
}

function serialize(active: string, keys: Map<string, RingKey>): string {
  const file: KeyRingFile = {
    v: 1,
    active,
    keys: [...keys.values()].map((k) => ({ id: k.id, key: k.key.toString('base64'), created: k.created })),
  };
  return JSON.stringify(file, null, 2) + '\n';
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await openFile(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
  } finally {
    await fh?.close();
  }
}

/** Writes a 0600 temp file next to `path`, fsyncs it, and returns its name. */
async function writeTemp(path: string, data: string): Promise<string> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await openFile(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return tmp;
}

/** temp file, fsync, rename over `path`, fsync the directory. */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/**
 * Creates `path` with `data` only if it does not exist yet (link() fails with EEXIST), so two
 * processes starting on a fresh data directory cannot each write a different key. Returns false
 * when the file already existed.
 */
async function createExclusive(path: string, data: string): Promise<boolean> {
  const tmp = await writeTemp(path, data);
  try {
    await link(tmp, path);
    await fsyncDir(dirname(path));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * The server's master keys (SSE-S3 key-encryption keys): several 32-byte keys with ids, one
 * active. New data keys are wrapped under the active key; old objects keep naming the key that
 * wrapped them, so rotation only adds a key. Key material never appears in messages, JSON or
 * util.inspect output.
 */
export class MasterKeyRing {
  #keys: Map<string, RingKey>;
  #active: string;
  #path: string | undefined;
  #sealKeys = new Map<string, Buffer>();
  #rotating: Promise<unknown> = Promise.resolve();

  private constructor(active: string, keys: Map<string, RingKey>, path: string | undefined) {
    this.#active = active;
    this.#keys = keys;
    this.#path = path;
  }

  /**
   * Opens DIR/keyring.json, creating DIR (mode 0700) and a ring with one fresh key (mode 0600,
   * written atomically) on first use. Throws CRYPTO_INVALID_KEYRING for a malformed file.
   */
  static async open(opts: MasterKeyRingOptions): Promise<MasterKeyRing> {
    if (!opts || typeof opts.dir !== 'string' || opts.dir.length === 0) {
      throw new TypeError('opts.dir must be a non-empty string');
    }
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const path = join(opts.dir, KEYRING_FILE);
    try {
      return MasterKeyRing.#load(await readFile(path, 'utf8'), path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const id = newKeyId(new Set());
    const keys = new Map([[id, { id, key: randomBytes(KEY_LENGTH), created: new Date().toISOString() }]]);
    if (await createExclusive(path, serialize(id, keys))) return new MasterKeyRing(id, keys, path);
    return MasterKeyRing.#load(await readFile(path, 'utf8'), path); // another process won the race
  }

  /**
   * A ring of one key that is not persisted (e.g. from an environment variable). `key` is 32
   * bytes, or a string of them in base64 or hex. rotate() throws CRYPTO_READONLY_RING.
   */
  static fromKey(key: Buffer | string, id = 'mk-env'): MasterKeyRing {
    let buf: Buffer | undefined;
    if (Buffer.isBuffer(key)) buf = Buffer.from(key);
    else if (typeof key === 'string') {
      const s = key.trim();
      buf = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
    }
    if (!buf || buf.length !== KEY_LENGTH)
      throw new RangeError(`key must be ${KEY_LENGTH} bytes (Buffer, base64 or hex)`);
    if (typeof id !== 'string' || !ID_RE.test(id)) throw new TypeError('id must match /^[A-Za-z0-9._-]{1,64}$/');
    return new MasterKeyRing(id, new Map([[id, { id, key: buf, created: new Date().toISOString() }]]), undefined);
  }

  /** Loads a key ring file (the keyring.json shape). rotate() writes back to the same file. */
  static async fromFile(path: string): Promise<MasterKeyRing> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    return MasterKeyRing.#load(await readFile(path, 'utf8'), path);
  }

  static #load(text: string, path: string): MasterKeyRing {
    const { active, keys } = parseRing(text, path);
    return new MasterKeyRing(active, keys, path);
  }

  /** Id of the key new data keys and seals are made with. */
  get activeId(): string {
    return this.#active;
  }

  /** Ids of all keys, oldest first. */
  ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** A copy of key `id`. Throws CryptoError CRYPTO_UNKNOWN_KEY. */
  key(id: string): Buffer {
    return Buffer.from(this.#get(id).key);
  }

  #get(id: string): RingKey {
    const k = this.#keys.get(id);
    if (!k)
      throw new CryptoError('CRYPTO_UNKNOWN_KEY', `master key ${JSON.stringify(String(id))} is not in the key ring`, {
        details: { kekId: String(id) },
      });
    return k;
  }

  /**
   * Adds a fresh key, makes it active, and persists the ring atomically; returns the new id.
   * Old keys stay, so existing wraps and seals still open. Throws CRYPTO_READONLY_RING for a
   * ring made by fromKey().
   */
  rotate(): Promise<string> {
    const run = this.#rotating.then(async () => {
      if (this.#path === undefined) {
        throw new CryptoError('CRYPTO_READONLY_RING', 'this key ring is not backed by a file and cannot be rotated');
      }
      const id = newKeyId(new Set(this.#keys.keys()));
      const keys = new Map(this.#keys);
      keys.set(id, { id, key: randomBytes(KEY_LENGTH), created: new Date().toISOString() });
      await writeAtomic(this.#path, serialize(id, keys));
      this.#keys = keys;
      this.#active = id;
      return id;
    });
    this.#rotating = run.catch(() => undefined);
    return run;
  }

  #sealKey(id: string): Buffer {
    let k = this.#sealKeys.get(id);
    if (!k) {
      k = hkdfSha256(this.#get(id).key, Buffer.alloc(0), SEAL_INFO);
      this.#sealKeys.set(id, k);
    }
    return k;
  }

  /**
   * Encrypts a small secret (e.g. a user's secret access key) for storage: AES-256-GCM under
   * HKDF(active master key, info "S3E1/seal"), random nonce, `aad` authenticated. Returns
   * `kekId:base64(nonce ‖ ct ‖ tag)`, which still opens after rotation.
   */
  seal(plain: Buffer, aad: string): string {
    if (!(plain instanceof Uint8Array)) throw new TypeError('plain must be a Buffer');
    if (typeof aad !== 'string') throw new TypeError('aad must be a string');
    const id = this.#active;
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv(CIPHER, this.#sealKey(id), nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const out = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `${id}:${out.toString('base64')}`;
  }

  /**
   * Opens a value made by seal() with the same `aad`. Throws CRYPTO_UNKNOWN_KEY if the sealing
   * key is not in the ring, CRYPTO_AUTH_FAILED if the value is malformed, altered, or the aad differs.
   */
  open(sealed: string, aad: string): Buffer {
    if (typeof sealed !== 'string') throw new TypeError('sealed must be a string');
    if (typeof aad !== 'string') throw new TypeError('aad must be a string');
    const at = sealed.lastIndexOf(':');
    const body = at > 0 ? Buffer.from(sealed.slice(at + 1), 'base64') : Buffer.alloc(0);
    if (at <= 0 || body.length < NONCE_LENGTH + TAG_LENGTH || body.toString('base64') !== sealed.slice(at + 1)) {
      throw new CryptoError('CRYPTO_AUTH_FAILED', 'sealed value is malformed');
    }
    const key = this.#sealKey(sealed.slice(0, at));
    const decipher = createDecipheriv(CIPHER, key, body.subarray(0, NONCE_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    const plain = decipher.update(body.subarray(NONCE_LENGTH, body.length - TAG_LENGTH));
    try {
      decipher.final();
      return plain;
    } catch (err) {
      plain.fill(0);
      throw new CryptoError('CRYPTO_AUTH_FAILED', 'sealed value failed authentication', { cause: err });
    }
  }

  /** Safe description: ids and the active id, never key material. */
  toJSON(): { activeId: string; ids: string[]; persisted: boolean } {
    return { activeId: this.#active, ids: this.ids(), persisted: this.#path !== undefined };
  }

  /** Safe description: ids and the active id, never key material. */
  toString(): string {
    return `MasterKeyRing(active=${this.#active}, keys=${this.#keys.size})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
