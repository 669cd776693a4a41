/**
 * Context key names. "Condition key names are not case-sensitive", so a name is compared lower-cased, except a tag
 * key after `/` (`s3:ExistingObjectTag/Project`), which keeps its case as tag keys do.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
 */

/** The name of a context key as policies and requests are matched on it. */
export function keyName(written: string): string {
  const slash = written.indexOf('/');
  return slash === -1 ? written.toLowerCase() : written.slice(0, slash).toLowerCase() + written.slice(slash);
}
