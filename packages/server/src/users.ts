/**
 * Users: access key pairs with a canonical ID, a display name and optionally a user policy. Secret keys are kept
 * sealed under the master key ring (never in the clear in LevelDB); the registry holds them unsealed in memory only
 * for signature checks. Each user is an account of its own, as policies see it (`arn:aws:iam::<account>:user/<name>`):
 * users share nothing unless a bucket's ACL or policy lets them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ObjectStore } from '@coffer/blob-store';
import type { MasterKeyRing } from '@coffer/crypto';
import { BUILTIN_POLICIES, type BuiltinPolicyName, type Policy, parsePolicy } from '@coffer/policy';

/** A user as stored: the secret key sealed. */
interface UserRecord {
  v: 1;
  id: string;
  name: string;
  accessKey: string;
  /** Secret key sealed with `MasterKeyRing.seal`, bound to the access key. */
  secret: string;
  root: boolean;
  created: string;
  /** The user policy: a built-in policy's name or a document's text (checked when set); absent = none. */
  policy?: string;
}

/** What a new user is made of (UserRegistry.add). */
interface NewUser {
  accessKey: string;
  secretKey: string;
  name: string;
  root?: boolean;
  id?: string;
  /** A built-in user policy's name or a policy document; absent = none. */
  policy?: string;
}

/** A user as the server sees it (no secret). */
export interface User {
  /** Canonical user ID (64 hex), shown as the Owner ID in listings. */
  id: string;
  /** Display name, shown as the Owner DisplayName. */
  name: string;
  accessKey: string;
  root: boolean;
  /** The user policy as set (a built-in name or a document's text); absent = none (full control of its buckets). */
  policySource?: string;
  /** The user policy, parsed; absent = none. */
  policy?: Policy;
}

const NS = 'users';
const ACCESS_KEY = /^[A-Za-z0-9._~+/=-]{3,128}$/;

/** Errors of the user registry, for the CLI. */
export class UserError extends Error {
  constructor(
    readonly code: 'USER_EXISTS' | 'USER_NOT_FOUND' | 'USER_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

const sealAad = (accessKey: string) => `coffer/user-secret/${accessKey}`;

/** Generates an access key pair in AWS's shape (20-character ID, 40-character secret). */
export function generateKeyPair(): { accessKey: string; secretKey: string } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(18)].map((b) => alphabet[b % 32]).join('');
  return { accessKey: `CF${id}`, secretKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x') };
}

/** The users of one data directory. */
export class UserRegistry {
  readonly #store: ObjectStore;
  readonly #keyRing: MasterKeyRing;
  #byAccessKey = new Map<string, { user: User; secret: string; sealed: string }>();
  #refresh: NodeJS.Timeout | undefined;

  private constructor(store: ObjectStore, keyRing: MasterKeyRing) {
    this.#store = store;
    this.#keyRing = keyRing;
  }

  /** Loads every user (unsealing secrets into memory). */
  static async open(store: ObjectStore, keyRing: MasterKeyRing): Promise<UserRegistry> {
    const reg = new UserRegistry(store, keyRing);
    await reg.reload();
    return reg;
  }

  /**
   * Reads every user again, so that users added, removed or re-keyed by another node (or by `coffer user` on a
   * shared metadata database) take effect here. Secrets already known are not unsealed again.
   */
  async reload(): Promise<void> {
    const next = new Map<string, { user: User; secret: string; sealed: string }>();
    for (const rec of await this.#store.listRecords<UserRecord>(NS)) {
      const known = this.#byAccessKey.get(rec.accessKey);
      const secret =
        known?.sealed === rec.secret
          ? known.secret
          : this.#keyRing.open(rec.secret, sealAad(rec.accessKey)).toString('utf8');
      next.set(rec.accessKey, { user: toUser(rec), secret, sealed: rec.secret });
    }
    this.#byAccessKey = next;
  }

  /** Reloads every `intervalMs` (several nodes on one metadata database) until {@link stop}. */
  startReloading(intervalMs: number, onError: (err: unknown) => void): void {
    this.stop();
    this.#refresh = setInterval(() => void this.reload().catch(onError), intervalMs);
    this.#refresh.unref();
  }

  /** Stops reloading. */
  stop(): void {
    clearInterval(this.#refresh);
    this.#refresh = undefined;
  }

  /** The secret key of an access key, for SigV4 verification. */
  secretKey(accessKey: string): string | undefined {
    return this.#byAccessKey.get(accessKey)?.secret;
  }

  /** The user of an access key. */
  byAccessKey(accessKey: string): User | undefined {
    return this.#byAccessKey.get(accessKey)?.user;
  }

  /** The user with a canonical ID. */
  byId(id: string): User | undefined {
    for (const { user } of this.#byAccessKey.values()) if (user.id === id) return user;
    return undefined;
  }

  /** All users, sorted by name. */
  list(): User[] {
    return [...this.#byAccessKey.values()].map((e) => e.user).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The root user, if one exists. */
  root(): User | undefined {
    return this.list().find((u) => u.root);
  }

  /**
   * Adds a user, with a user policy if given (a built-in name or a document: PolicyError if it does not parse).
   * USER_EXISTS when the access key is taken; USER_INVALID for a malformed key or name.
   */
  async add(p: NewUser): Promise<User> {
    if (this.#byAccessKey.has(p.accessKey))
      throw new UserError('USER_EXISTS', `a user with access key ${p.accessKey} exists`);
    const rec = this.#record(p);
    await this.#store.putRecord(NS, rec.accessKey, rec);
    return this.#remember(rec, p.secretKey);
  }

  /** A new user's record, its secret sealed; USER_INVALID for a malformed key or name, PolicyError for a policy. */
  #record(p: NewUser): UserRecord {
    if (!ACCESS_KEY.test(p.accessKey))
      throw new UserError('USER_INVALID', 'access key must be 3 to 128 characters of A-Z a-z 0-9 . _ ~ + / = -');
    if (p.secretKey.length < 8) throw new UserError('USER_INVALID', 'secret key must be at least 8 characters');
    if (!p.name) throw new UserError('USER_INVALID', 'name must not be empty');
    if (p.policy !== undefined) userPolicyOf(p.policy);
    return {
      v: 1,
      id: p.id ?? randomBytes(32).toString('hex'),
      name: p.name,
      accessKey: p.accessKey,
      secret: this.#keyRing.seal(Buffer.from(p.secretKey, 'utf8'), sealAad(p.accessKey)),
      root: p.root ?? false,
      created: new Date().toISOString(),
      ...(p.policy === undefined ? {} : { policy: p.policy }),
    };
  }

  /** Puts a committed record in the in-memory map (with its secret in the clear, for signature checks). */
  #remember(rec: UserRecord, secretKey: string): User {
    const user = toUser(rec);
    this.#byAccessKey.set(rec.accessKey, { user, secret: secretKey, sealed: rec.secret });
    return user;
  }

  /**
   * Sets (or with `undefined` clears) a user's policy: a built-in policy's name or a document, which must parse as
   * a user policy (PolicyError otherwise). USER_NOT_FOUND when there is no such user.
   */
  async setPolicy(accessKeyOrName: string, policy: string | undefined): Promise<User> {
    if (policy !== undefined) userPolicyOf(policy);
    const entry = this.#entry(accessKeyOrName);
    const rec = await this.#store.getRecord<UserRecord>(NS, entry.user.accessKey);
    if (!rec) throw notFound(accessKeyOrName);
    if (policy === undefined) delete rec.policy;
    else rec.policy = policy;
    await this.#store.putRecord(NS, rec.accessKey, rec);
    entry.user = toUser(rec);
    return entry.user;
  }

  /** Removes a user by access key or name. USER_NOT_FOUND when there is none. */
  async remove(accessKeyOrName: string): Promise<User> {
    const entry = this.#entry(accessKeyOrName);
    await this.#store.deleteRecord(NS, entry.user.accessKey);
    this.#byAccessKey.delete(entry.user.accessKey);
    return entry.user;
  }

  #entry(accessKeyOrName: string): { user: User; secret: string; sealed: string } {
    const entry =
      this.#byAccessKey.get(accessKeyOrName) ??
      [...this.#byAccessKey.values()].find((e) => e.user.name === accessKeyOrName);
    if (!entry) throw notFound(accessKeyOrName);
    return entry;
  }

  /**
   * Makes the root user carry these keys; a root whose keys changed keeps its identity (its buckets stay owned). The
   * old root record goes and the new one comes in one commit, so a crash between them cannot leave no root.
   */
  async ensureRoot(accessKey: string, secretKey: string): Promise<User> {
    const current = this.root();
    if (current?.accessKey === accessKey && this.secretKey(accessKey) === secretKey) return current;
    const taken = this.#byAccessKey.get(accessKey);
    if (taken && !taken.user.root) throw new UserError('USER_EXISTS', `a user with access key ${accessKey} exists`);
    const rec = this.#record({
      accessKey,
      secretKey,
      name: current?.name ?? 'root',
      root: true,
      id: current?.id,
      policy: current?.policySource,
    });
    await this.#store.transaction(async (tx) => {
      if (current) await tx.deleteRecord(NS, current.accessKey);
      tx.putRecord(NS, rec.accessKey, rec);
    });
    if (current) this.#byAccessKey.delete(current.accessKey);
    return this.#remember(rec, secretKey);
  }
}

const notFound = (accessKeyOrName: string) =>
  new UserError('USER_NOT_FOUND', `no user with access key or name ${accessKeyOrName}`);

/** True for the name of a built-in user policy (`readwrite`, `readonly`, `writeonly`). */
export function isBuiltinPolicy(name: string): name is BuiltinPolicyName {
  return Object.hasOwn(BUILTIN_POLICIES, name);
}

/** A user policy as stored: a built-in policy's name, or a document parsed as IAM would (PolicyError if not). */
export function userPolicyOf(source: string): Policy {
  return isBuiltinPolicy(source) ? BUILTIN_POLICIES[source] : parsePolicy(source, 'user');
}

/**
 * A user's account ID: 12 digits from the hash of its canonical ID, stable for the user's life (a re-keyed root
 * keeps its canonical ID, hence its account).
 */
export function accountOf(canonicalId: string): string {
  const digest = createHash('sha256').update(canonicalId).digest();
  return (digest.readBigUInt64BE(0) % 10n ** 12n).toString().padStart(12, '0');
}

/** `arn:aws:iam::<account>:user/<name>`: the user as a policy's principal. */
export function arnOf(user: Pick<User, 'id' | 'name'>): string {
  return `arn:aws:iam::${accountOf(user.id)}:user/${user.name}`;
}

function toUser(rec: UserRecord): User {
  const user: User = { id: rec.id, name: rec.name, accessKey: rec.accessKey, root: rec.root };
  if (rec.policy !== undefined) {
    user.policySource = rec.policy;
    user.policy = storedPolicy(rec.policy);
  }
  return user;
}

/** Denies everything: what a stored policy that no longer parses stands for (a user policy fails closed). */
const DENY_ALL = parsePolicy(
  '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}',
  'user',
);

function storedPolicy(source: string): Policy {
  try {
    return userPolicyOf(source);
  } catch {
    return DENY_ALL;
  }
}
