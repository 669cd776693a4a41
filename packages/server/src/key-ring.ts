/**
 * Where the master key ring comes from, and opening a data directory's store together with it.
 *
 * By default the ring lives in the metadata engine (record `system/keyring`), so that every node on one PostgreSQL
 * database reads the same ring and sees a rotation within {@link RING_RELOAD_MS}. Its keys are stored wrapped under a
 * key-encryption key that never enters the metadata: derived from `COFFER_MASTER_KEY` when that is set, else read
 * from `DATA/keys/ring.key` (created on first start). A dump of the metadata alone reveals no master key. A data
 * directory from before keeps its keys: its `DATA/keys/keyring.json` (and the `COFFER_MASTER_KEY` key, which wrapped
 * data keys directly as `mk-env`) is imported once, in one compare-and-set, then renamed `keyring.json.imported`.
 * `--master-key-file` keeps the ring in that file instead, outside the metadata (every node needs its own copy).
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';

import { BlobStore, type BlobStoreOptions } from '@coffer/blob-store';
import { S3ChunkStore, type S3ChunkStoreOptions } from '@coffer/chunk-store';
import {
  KEYRING_FILE,
  MasterKeyRing,
  hkdfSha256,
  openKeyFile,
  type KeyRingStorage,
  type WrappedKeyRing,
} from '@coffer/crypto';

/** Where the master key ring comes from. */
export type MasterKeySource = { kind: 'data-dir' } | { kind: 'key'; key: Buffer } | { kind: 'file'; path: string };

/** How often a node on shared metadata reads the key ring again: the bound on how long another node's rotation takes
 * to reach it. */
export const RING_RELOAD_MS = 2000;

/** The key-encryption key file under the data directory, when `COFFER_MASTER_KEY` is not set. */
export const RING_KEY_FILE = 'ring.key';

const NS = 'system';
const ID = 'keyring';
/** HKDF info of the key-encryption key derived from `COFFER_MASTER_KEY` (never the key itself, which is in the ring). */
const KEK_INFO = 'coffer/ring-kek';

/** Options of {@link openDataDir}; the store's options it takes are passed on as they are. */
export interface OpenDataDirOptions
  extends Pick<BlobStoreOptions, 'cryptoPool' | 'sweepGraceMs' | 'garbageDelayMs' | 'sweepAtOpen' | 'testing'> {
  dataDir: string;
  /** A `postgres://` URL for the metadata, instead of LevelDB in the data directory. */
  meta?: string;
  masterKey: MasterKeySource;
  /** The encrypted chunks in an S3-compatible store (`--chunks`) instead of files in the data directory. */
  chunks?: S3ChunkStoreOptions;
}

/**
 * The ring as the store sees it until the ring is open: the store needs one to open, and the ring lives in the store.
 * Nothing reads a key before {@link openDataDir} returns.
 */
class RingSlot {
  ring: MasterKeyRing | undefined;
  get activeId(): string {
    return this.ring?.activeId ?? '';
  }
  key(id: string): Buffer {
    if (!this.ring) throw new Error('the key ring is not open yet');
    return this.ring.key(id);
  }
}

/** The ring record of the store, read and compare-and-set in one transaction. */
function storageOf(store: BlobStore): KeyRingStorage {
  return {
    read: () => store.getRecord<WrappedKeyRing>(NS, ID),
    swap: (expected, next) =>
      store.transaction(async (tx) => {
        const cur = await tx.getRecord<WrappedKeyRing>(NS, ID);
        if (cur?.gen !== expected) return false;
        tx.putRecord(NS, ID, next);
        return true;
      }),
  };
}

/** The rings a data directory had before its ring moved into the metadata: imported when none is stored yet. */
async function legacyRings(dataDir: string, source: MasterKeySource): Promise<MasterKeyRing[]> {
  const rings: MasterKeyRing[] = [];
  // With COFFER_MASTER_KEY, data keys were wrapped under it directly (id mk-env), and it stays the active key.
  if (source.kind === 'key') rings.push(MasterKeyRing.fromKey(source.key));
  try {
    rings.push(await MasterKeyRing.fromFile(join(dataDir, 'keys', KEYRING_FILE)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return rings;
}

/** The key-encryption key of the stored ring; the file is created only for a ring about to be created. */
async function keyEncryptionKey(dataDir: string, source: MasterKeySource, create: boolean): Promise<Buffer> {
  if (source.kind === 'key') return hkdfSha256(source.key, Buffer.alloc(0), KEK_INFO);
  const path = join(dataDir, 'keys', RING_KEY_FILE);
  try {
    return await openKeyFile(path, { create });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new Error(
      `the master key ring in the metadata is wrapped under a key this node does not have: copy ${RING_KEY_FILE} ` +
        `from DATA/keys of a node that has it to ${path}, or set COFFER_MASTER_KEY as the other nodes do`,
    );
  }
}

/** Opens (creating or importing on first use) the ring kept in `store`. */
async function openStoredRing(store: BlobStore, dataDir: string, source: MasterKeySource): Promise<MasterKeyRing> {
  const storage = storageOf(store);
  const exists = (await storage.read()) !== undefined;
  const kek = await keyEncryptionKey(dataDir, source, !exists);
  if (exists) return MasterKeyRing.openStored({ storage, kek });
  const seed = await legacyRings(dataDir, source);
  const ring = await MasterKeyRing.openStored({ storage, kek, seed });
  if (seed.length > 0) {
    // Imported (by this process or one that raced it): the file is read no more, and kept for the operator.
    const file = join(dataDir, 'keys', KEYRING_FILE);
    await rename(file, `${file}.imported`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  return ring;
}

/**
 * Opens the store of a data directory (or of a PostgreSQL metadata database) with its master key ring. The caller
 * closes the store. Throws `BLOB_LOCKED` (from the store) while a server holds a LevelDB data directory.
 */
export async function openDataDir(opts: OpenDataDirOptions): Promise<{ store: BlobStore; keyRing: MasterKeyRing }> {
  const { dataDir, masterKey, chunks, ...storeOpts } = opts;
  const fileRing = masterKey.kind === 'file' ? await MasterKeyRing.fromFile(masterKey.path) : undefined;
  const slot = new RingSlot();
  // The store owns the chunk store from here: it closes it, also when it fails to open.
  const store = await BlobStore.open({
    ...storeOpts,
    dir: dataDir,
    keyRing: fileRing ?? slot,
    chunks: chunks && (await S3ChunkStore.open(chunks)),
  });
  if (fileRing) return { store, keyRing: fileRing };
  try {
    slot.ring = await openStoredRing(store, dataDir, masterKey);
  } catch (err) {
    await store.close();
    throw err;
  }
  return { store, keyRing: slot.ring };
}

/**
 * The master key ring of a data directory (a server may not hold a LevelDB one): opens the store for as long as it
 * takes to read the ring. The ring returned can wrap and unwrap; it cannot be rotated (its store is closed).
 */
export async function openKeyRing(dataDir: string, masterKey: MasterKeySource, meta?: string): Promise<MasterKeyRing> {
  const { store, keyRing } = await openDataDir({ dataDir, masterKey, meta });
  await store.close();
  return keyRing;
}
