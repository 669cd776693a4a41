/**
 * Bucket configurations Coffer has no feature for, read back as S3 reads them on a bucket that never had one:
 * "not found" for those that are absent (website, replication), the empty or
 * fixed document for those that always exist (logging off, no notifications, the owner pays, no transfer
 * acceleration). Tools that read every configuration of a bucket (Terraform's AWS provider, s3cmd info) then see an ordinary bucket instead of 501s. Writing any of them
 * stays 501 NotImplemented.
 */
import type { Context } from 'koa';
import { S3Error, type S3ErrorCode } from '../errors.ts';
import type { BucketEndpoint } from '../operations.ts';
import { BUCKET_DEFAULT_SUBRESOURCES, type BucketDefaultSubresource } from '../router.ts';
import { sendXml } from '../respond.ts';
import type { XmlNode } from '@coffer/xml';

type Answer = { error: S3ErrorCode } | { root: string; body: XmlNode };

/** Sub-resource → what GET on it answers (one entry for each the router sends here). */
export const BUCKET_DEFAULTS: Readonly<Record<BucketDefaultSubresource, Answer>> = Object.freeze({
  website: { error: 'NoSuchWebsiteConfiguration' },
  replication: { error: 'ReplicationConfigurationNotFoundError' },
  logging: { root: 'BucketLoggingStatus', body: {} },
  notification: { root: 'NotificationConfiguration', body: {} },
  requestPayment: { root: 'RequestPaymentConfiguration', body: { Payer: 'BucketOwner' } },
  accelerate: { root: 'AccelerateConfiguration', body: {} },
});

/** GET of one of {@link BUCKET_DEFAULTS} (the router names it by the query). */
export async function getBucketDefault(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const name = BUCKET_DEFAULT_SUBRESOURCES.find((k) => ep.query.has(k))!;
  const answer = BUCKET_DEFAULTS[name];
  if ('error' in answer) throw new S3Error(answer.error, { extra: { BucketName: ep.bucket } });
  sendXml(ctx, answer.root, answer.body);
}
