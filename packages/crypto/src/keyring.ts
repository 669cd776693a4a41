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

/**
 * A ring as a database keeps it (the server keeps it in its metadata engine, so that every node reads the same one):
 * each key wrapped under a key-encryption key that is never stored with it, so the document alone reveals no key.
 */
export interface WrappedKeyRing {
  v: 1;
  /** Generation: 1 when created, one more on each change (the compare-and-set of {@link KeyRingStorage.swap}). */
  gen: number;
  active: string;
  /** `wrapped` is base64(nonce ‖ AES-256-GCM(kek, key) ‖ tag), with the key id as additional data. */
  keys: { id: string; created: string; wrapped: string }[];
}

/** Where {@link MasterKeyRing.openStored} reads and writes its ring. */
export interface KeyRingStorage {
  /** The stored ring, or undefined when none is stored yet. */
  read(): Promise<WrappedKeyRing | undefined>;
  /**
   * Stores `next` if the stored ring is still at generation `expected` (undefined: none is stored), atomically;
   * false when another writer came first.
   */
  swap(expected: number | undefined, next: WrappedKeyRing): Promise<boolean>;
}

/** Options of {@link MasterKeyRing.openStored}. */
export interface StoredKeyRingOptions {
  storage: KeyRingStorage;
  /** The 32-byte key-encryption key the ring's keys are wrapped under. */
  kek: Buffer;
  /**
   * Rings whose keys a new stored ring starts with (e.g. a key ring file being imported), the first one's active key
   * active; without any, the new ring has one fresh key. Ignored once a ring is stored.
   */
  seed?: readonly MasterKeyRing[];
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
const WRAP_AAD = (id: string) => Buffer.from(`${FORMAT_MAGIC}/ring-key/${id}`, 'utf8');
/** How often a stored ring's compare-and-set is tried again against other writers before giving up. */
const SWAP_ATTEMPTS = 20;

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

function wrapRing(gen: number, active: string, keys: Map<string, RingKey>, kek: Buffer): WrappedKeyRing {
  const wrapped = [...keys.values()].map((k) => {
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv(CIPHER, kek, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(WRAP_AAD(k.id));
    const out = Buffer.concat([nonce, cipher.update(k.key), cipher.final(), cipher.getAuthTag()]);
    return { id: k.id, created: k.created, wrapped: out.toString('base64') };
  });
  return { v: 1, gen, active, keys: wrapped };
}

function storedInvalid(why: string): CryptoError {
  return new CryptoError('CRYPTO_INVALID_KEYRING', `the stored key ring is invalid: ${why}`);
}

function unwrapRing(doc: WrappedKeyRing, kek: Buffer): { active: string; keys: Map<string, RingKey> } {
  if (doc?.v !== 1 || !Number.isSafeInteger(doc.gen) || !Array.isArray(doc.keys)) {
    throw storedInvalid('not a v1 ring');
  }
  const keys = new Map<string, RingKey>();
  for (const k of doc.keys) {
    if (!k || typeof k.id !== 'string' || !ID_RE.test(k.id) || typeof k.wrapped !== 'string') {
      throw storedInvalid('a key entry is malformed');
    }
    const body = Buffer.from(k.wrapped, 'base64');
    if (body.length !== NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH) throw storedInvalid(`key ${k.id} is malformed`);
    const decipher = createDecipheriv(CIPHER, kek, body.subarray(0, NONCE_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(WRAP_AAD(k.id));
    decipher.setAuthTag(body.subarray(NONCE_LENGTH + KEY_LENGTH));
    const key = decipher.update(body.subarray(NONCE_LENGTH, NONCE_LENGTH + KEY_LENGTH));
    try {
      decipher.final();
    } catch (err) {
      key.fill(0);
      throw new CryptoError(
        'CRYPTO_INVALID_KEYRING',
        `the stored key ring does not open under this key-encryption key (key ${k.id} fails authentication)`,
        { cause: err },
      );
    }
    keys.set(k.id, { id: k.id, key, created: typeof k.created === 'string' ? k.created : '' });
  }
  if (typeof doc.active !== 'string' || !keys.has(doc.active)) throw storedInvalid('active names no key in keys');
  return { active: doc.active, keys };
}

/**
 * Reads a key-encryption key file (32 bytes, base64, one line), creating it with a fresh key (mode 0600, written
 * exclusively, so two processes cannot make two) when `create` is set and it does not exist. Throws
 * CRYPTO_INVALID_KEYRING for a malformed file, and ENOENT (an fs error) for a missing one without `create`.
 */
export async function openKeyFile(path: string, opts: { create?: boolean } = {}): Promise<Buffer> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  const parse = (text: string): Buffer => {
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== KEY_LENGTH || key.toString('base64') !== text.trim()) {
      throw invalid(path, `must hold ${KEY_LENGTH} bytes, base64`);
    }
    return key;
  };
  try {
    return parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (!opts.create || !isNotFound(err)) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await createExclusive(path, randomBytes(KEY_LENGTH).toString('base64') + '\n');
  return parse(await readFile(path, 'utf8')); // ours, or the one another process created first
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
  /** Where a ring from {@link MasterKeyRing.openStored} lives, its key-encryption key and the generation read. */
  #stored: { storage: KeyRingStorage; kek: Buffer; gen: number } | undefined;
  #sealKeys = new Map<string, Buffer>();
  #rotating: Promise<unknown> = Promise.resolve();

  private constructor(active: string, keys: Map<string, RingKey>, path: string | undefined) {
    this.#active = active;
    this.#keys = keys;
    this.#path = path;
  }

  /**
   * Opens the ring kept in `storage`, its keys wrapped under `kek`; when none is stored yet, stores one (made of the
   * `seed` rings' keys, or one fresh key) with a compare-and-set, so that of several processes starting at once
   * exactly one creates it and the others open it. Throws CRYPTO_INVALID_KEYRING when the stored ring is malformed
   * or does not open under `kek`.
   */
  static async openStored(opts: StoredKeyRingOptions): Promise<MasterKeyRing> {
    if (!opts || typeof opts.storage?.read !== 'function' || typeof opts.storage.swap !== 'function') {
      throw new TypeError('opts.storage must be a KeyRingStorage');
    }
    if (!Buffer.isBuffer(opts.kek) || opts.kek.length !== KEY_LENGTH) {
      throw new RangeError(`opts.kek must be a ${KEY_LENGTH}-byte Buffer`);
    }
    const kek = Buffer.from(opts.kek);
    for (;;) {
      const doc = await opts.storage.read();
      if (doc) {
        const { active, keys } = unwrapRing(doc, kek);
        const ring = new MasterKeyRing(active, keys, undefined);
        ring.#stored = { storage: opts.storage, kek, gen: doc.gen };
        return ring;
      }
      const seed = opts.seed ?? [];
      const keys = new Map<string, RingKey>();
      for (const r of seed) for (const [id, k] of r.#keys) if (!keys.has(id)) keys.set(id, { ...k });
      let active = seed[0]?.activeId;
      if (active === undefined) {
        active = newKeyId(new Set());
        keys.set(active, { id: active, key: randomBytes(KEY_LENGTH), created: new Date().toISOString() });
      }
      if (await opts.storage.swap(undefined, wrapRing(1, active, keys, kek))) {
        const ring = new MasterKeyRing(active, keys, undefined);
        ring.#stored = { storage: opts.storage, kek, gen: 1 };
        return ring;
      }
      // Another process stored a ring first: open that one.
    }
  }

  /**
   * Reads a stored ring again, so that keys another process added (`coffer keys rotate` on a shared metadata
   * database) are known here; keys are never forgotten. True when something changed. A no-op for other rings.
   */
  async reload(): Promise<boolean> {
    const stored = this.#stored;
    if (!stored) return false;
    const doc = await stored.storage.read();
    if (!doc || doc.gen === stored.gen) return false;
    const { active, keys } = unwrapRing(doc, stored.kek);
    for (const [id, k] of this.#keys) if (!keys.has(id)) keys.set(id, k);
    this.#keys = keys;
    this.#active = active;
    stored.gen = doc.gen;
    return true;
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
  async rotate(): Promise<string> {
    const id = await this.addKey();
    await this.activate(id);
    return id;
  }

  /**
   * Adds a fresh key without making it active, and persists the ring; returns its id. Several processes sharing a
   * stored ring learn a key this way before any of them wraps a data key under it (see {@link activate}).
   * Throws CRYPTO_READONLY_RING for a ring made by fromKey().
   */
  addKey(): Promise<string> {
    return this.#change((keys, active) => {
      const id = newKeyId(new Set(keys.keys()));
      keys.set(id, { id, key: randomBytes(KEY_LENGTH), created: new Date().toISOString() });
      return { active, result: id };
    });
  }

  /** Makes key `id` (already in the ring) the active one and persists the ring. Throws CRYPTO_UNKNOWN_KEY. */
  async activate(id: string): Promise<void> {
    this.#get(id);
    await this.#change(() => ({ active: id, result: id }));
  }

  /**
   * Applies `edit` to a copy of the keys (the stored ring's latest, for a stored ring) and persists them with the
   * active id `edit` returns, one change at a time; resolves with its `result`.
   */
  #change(edit: (keys: Map<string, RingKey>, active: string) => { active: string; result: string }): Promise<string> {
    const run = this.#rotating.then(async () => {
      const stored = this.#stored;
      if (stored) {
        for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt++) {
          await this.reload();
          const keys = new Map(this.#keys);
          const { active, result } = edit(keys, this.#active);
          const next = wrapRing(stored.gen + 1, active, keys, stored.kek);
          if (await stored.storage.swap(stored.gen, next)) {
            this.#keys = keys;
            this.#active = active;
            stored.gen = next.gen;
            return result;
          }
        }
        throw new CryptoError('CRYPTO_INVALID_KEYRING', 'the stored key ring kept changing under this change');
      }
      if (this.#path === undefined) {
        throw new CryptoError('CRYPTO_READONLY_RING', 'this key ring is not backed by a file and cannot be rotated');
      }
      const keys = new Map(this.#keys);
      const { active, result } = edit(keys, this.#active);
      await writeAtomic(this.#path, serialize(active, keys));
      this.#keys = keys;
      this.#active = active;
      return result;
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
    return { activeId: this.#active, ids: this.ids(), persisted: this.#path !== undefined || !!this.#stored };
  }

  /** Safe description: ids and the active id, never key material. */
  toString(): string {
    return `MasterKeyRing(active=${this.#active}, keys=${this.#keys.size})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
