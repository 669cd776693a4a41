/**
 * The policy package's bad-input set: malformed and hostile bucket policy documents for BUCKET, by what is wrong
 * with each. bad-input.test.ts parses them; the server's end-to-end tests send them through PutBucketPolicy.
 */
import { BUCKET, documentOf, statementOf } from './fixtures.ts';

/** The ARN of every object of BUCKET. */
export const OBJECTS = `arn:aws:s3:::${BUCKET}/*`;
const statement = statementOf;
const one = (over: Record<string, unknown>) => documentOf([statement(over)]);
const condition = (type: string, key: string, value: unknown) => one({ Condition: { [type]: { [key]: value } } });
const principal = (value: unknown) => one({ Principal: value });
const resource = (value: unknown) => one({ Resource: value });
const action = (value: unknown) => one({ Action: value });
const valid = one({});

/** Every hostile or malformed bucket policy document, by what is wrong with it. */
export const DOCUMENTS: Array<[string, string]> = [
  // Not JSON, or not an object first.
  ['empty', ''],
  ['a space', ' '],
  ['null', 'null'],
  ['true', 'true'],
  ['a number', '1'],
  ['a string', '"{}"'],
  ['an array of a policy', `[${valid}]`],
  ['a byte-order mark', `\ufeff${valid}`],
  ['an open brace', '{'],
  ['an unterminated member', '{"Statement"'],
  ['single quotes', "{'Statement': []}"],
  ['a trailing comma', valid.replace(/}]}$/, '},]}')],
  ['a comment', valid.replace('{', '{/* x */')],
  ['NaN', '{"Id": NaN, "Statement": []}'],
  ['Infinity', '{"Id": Infinity, "Statement": []}'],
  ['a leading zero', '{"Id": 01, "Statement": []}'],
  ['a raw control character', '{"Id": "a\u0001b", "Statement": []}'],
  ['a bad escape', '{"Id": "\\x41", "Statement": []}'],
  ['an unterminated string', '{"Id": "abc}'],
  ['two documents', `${valid}${valid}`],
  ['a missing colon', '{"Statement" []}'],
  ['a missing comma', '{"Version": "2012-10-17" "Statement": []}'],
  // Deep nesting.
  ['deep arrays', `{"Statement": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`],
  ['deep objects', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`],
  [
    'a deep condition value',
    condition('StringEquals', 'aws:username', JSON.parse(`${'['.repeat(20)}"a"${']'.repeat(20)}`)),
  ],
  ['an unclosed deep array', `{"Statement": ${'['.repeat(100_000)}`],
  // Huge.
  ['a huge action list', action(new Array(100_000).fill('s3:GetObject'))],
  ['a huge string', one({ Sid: 'x'.repeat(2_000_000) })],
  ['huge whitespace', `{${' '.repeat(2_000_000)}"Statement": []}`],
  ['huge condition values', condition('StringEquals', 'aws:username', new Array(50_000).fill('alice'))],
  ['many statements', documentOf(new Array(5_000).fill(statement()))],
  // Wrong types.
  ['Version a number', '{"Version": 2012, "Statement": []}'],
  ['Version null', `{"Version": null, "Statement": [${JSON.stringify(statement())}]}`],
  ['Version an array', `{"Version": ["2012-10-17"], "Statement": [${JSON.stringify(statement())}]}`],
  ['Statement null', '{"Statement": null}'],
  ['Statement a number', '{"Statement": 1}'],
  ['Statement of numbers', '{"Statement": [1]}'],
  ['Statement of strings', '{"Statement": ["Allow"]}'],
  ['Statement of null', '{"Statement": [null]}'],
  ['Statement of arrays', `{"Statement": [[${JSON.stringify(statement())}]]}`],
  ['an empty statement', '{"Statement": [{}]}'],
  ['Effect true', one({ Effect: true })],
  ['Effect a list', one({ Effect: ['Allow'] })],
  ['Effect null', one({ Effect: null })],
  ['Effect lower case', one({ Effect: 'allow' })],
  ['Effect empty', one({ Effect: '' })],
  ['Principal a number', principal(1)],
  ['Principal empty list', principal([])],
  ['Principal empty object', principal({})],
  ['Principal AWS empty list', principal({ AWS: [] })],
  ['Principal AWS a number', principal({ AWS: 1 })],
  ['Principal AWS an object', principal({ AWS: {} })],
  ['Principal AWS null', principal({ AWS: null })],
  ['Action a number', action(1)],
  ['Action empty list', action([])],
  ['Action of numbers', action([1])],
  ['Action an object', action({})],
  ['Resource null', resource(null)],
  ['Resource empty list', resource([])],
  ['Resource nested list', resource([[OBJECTS]])],
  ['Condition a string', one({ Condition: 'x' })],
  ['Condition a list', one({ Condition: [] })],
  ['Condition operator a string', one({ Condition: { StringEquals: 'x' } })],
  ['Condition operator with no key', one({ Condition: { StringEquals: {} } })],
  ['Condition value an object', condition('StringEquals', 'aws:username', {})],
  ['Condition value empty list', condition('StringEquals', 'aws:username', [])],
  ['Condition value null', condition('StringEquals', 'aws:username', null)],
  ['Sid a number', one({ Sid: 1 })],
  ['Sid null', one({ Sid: null })],
  ['Id an object', `{"Id": {}, "Statement": [${JSON.stringify(statement())}]}`],
  // Bad ARNs and principals.
  ['Resource empty', resource('')],
  ['Resource "*"', resource('*')],
  ['Resource bare bucket name', resource(`${BUCKET}/*`)],
  ['Resource with no bucket', resource('arn:aws:s3:::')],
  ['Resource with two colons', resource(`arn:aws:s3::${BUCKET}/*`)],
  ['Resource of another bucket', resource('arn:aws:s3:::other/*')],
  ['Resource of the bucket in capitals', resource(`arn:aws:s3:::${BUCKET.toUpperCase()}/*`)],
  ['Resource of another service', resource('arn:aws:iam::111122223333:user/x')],
  ['Resource with a newline', resource(`arn:aws:s3:::${BUCKET}\n/x`)],
  ['Resource of another partition', resource(`arn:aws-us-gov:s3:::${BUCKET}/*`)],
  ['principal a plain name', principal('alice')],
  ['principal 11-digit account', principal({ AWS: '11112222333' })],
  ['principal role', principal({ AWS: 'arn:aws:iam::111122223333:role/admin' })],
  ['principal group', principal({ AWS: 'arn:aws:iam::111122223333:group/admins' })],
  ['principal user with no name', principal({ AWS: 'arn:aws:iam::111122223333:user/' })],
  ['principal user wildcard', principal({ AWS: 'arn:aws:iam::111122223333:user/*' })],
  ['principal account wildcard', principal({ AWS: 'arn:aws:iam::*:root' })],
  ['principal assumed role', principal({ AWS: 'arn:aws:sts::111122223333:assumed-role/r/s' })],
  ['principal canonical 63 hex', principal({ CanonicalUser: 'a'.repeat(63) })],
  ['principal canonical not hex', principal({ CanonicalUser: 'g'.repeat(64) })],
  ['principal service wildcard', principal({ Service: '*' })],
  ['principal service elsewhere', principal({ Service: 'evil.example.com' })],
  ['principal Federated', principal({ Federated: 'cognito-identity.amazonaws.com' })],
  ['principal aws lower case', principal({ aws: '*' })],
  ['principal star in a list', principal(['*'])],
  // Bad actions.
  ['action without service', action('GetObject')],
  ['action s3:', action('s3:')],
  ['action with a space', action('s3:Get Object')],
  ['action *:*', action('*:*')],
  ['action s3', action('s3')],
  ['action with trailing space', action('s3:GetObject ')],
  ['action of another service', action('iam:CreateUser')],
  ['action unknown', action('s3:GetObjects')],
  ['action object on the bucket only', one({ Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}` })],
  ['action account-level in a bucket policy', action('s3:ListAllMyBuckets')],
  // Bad CIDRs.
  ...[
    '1.2.3.4/33',
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4/-1',
    '1.2.3.4/',
    '::/129',
    '2001:db8:::1',
    'fe80::1%eth0',
    '01.2.3.4',
  ]
    .concat(['1.2.3.4/8/8', '', ' 1.2.3.4', '1.2.3.4 ', '0x01.2.3.4', 'localhost', '1.2.3.4/1000'])
    .map((cidr): [string, string] => [`CIDR ${JSON.stringify(cidr)}`, condition('IpAddress', 'aws:SourceIp', cidr)]),
  // Bad dates, numbers, booleans, base64.
  ...['2026-02-30', '2026-13-01', '2026-12-03T25:00:00Z', '2026-12-03T18:60:00Z', 'yesterday', '2026/12/03', '']
    .concat(['2026-12-03T18:00:00+25:00', '1e10', '-1', '2026-12-3', '2026-12-03T18:00:00ZZ'])
    .map((date): [string, string] => [
      `date ${JSON.stringify(date)}`,
      condition('DateLessThan', 'aws:CurrentTime', date),
    ]),
  ...['ten', '', '1e3', '0x10', '1,000', 'NaN', 'Infinity', '--1'].map((n): [string, string] => [
    `number ${JSON.stringify(n)}`,
    condition('NumericLessThan', 'aws:EpochTime', n),
  ]),
  ['Bool yes', condition('Bool', 'aws:SecureTransport', 'yes')],
  ['Bool 1', condition('Bool', 'aws:SecureTransport', 1)],
  ['Null maybe', condition('Null', 'aws:username', 'maybe')],
  ['base64 abc', condition('BinaryEquals', 'aws:username', 'abc')],
  ['base64 @@@@', condition('BinaryEquals', 'aws:username', '@@@@')],
  // Bad condition operators and keys.
  ...['stringequals', 'StringEqualsIfexists', 'ForAnyValues:StringEquals', 'ForAllValue:StringEquals', 'NullIfExists']
    .concat(['ForAnyValue:Null', 'IpAddressIfExistsIfExists', 'ForAnyValue:ForAllValues:StringEquals', ''])
    .map((type): [string, string] => [`operator ${JSON.stringify(type)}`, condition(type, 'aws:username', 'a')]),
  ...['s3:x-acl', 'ec2:Region', 'username', 'aws:', 'aws:user name', 's3:ExistingObjectTag/', 's3:prefix*', ''].map(
    (key): [string, string] => [`condition key ${JSON.stringify(key)}`, condition('StringEquals', key, 'a')],
  ),
  ['s3:prefix on GetObject', condition('StringEquals', 's3:prefix', 'a')],
  // Prototype pollution.
  ['__proto__ at the top', `{"__proto__": {"polluted": true}, "Statement": [${JSON.stringify(statement())}]}`],
  ['__proto__ in a statement', valid.replace('{"Effect"', '{"__proto__": {"polluted": true}, "Effect"')],
  [
    'constructor in a statement',
    valid.replace('{"Effect"', '{"constructor": {"prototype": {"polluted": true}}, "Effect"'),
  ],
  [
    '__proto__ as an operator',
    valid.replace('"Resource"', '"Condition": {"__proto__": {"polluted": true}}, "Resource"'),
  ],
  ['__proto__ as a key', condition('StringEquals', '__proto__', 'x')],
  ['__proto__ as a principal type', valid.replace('"Principal":"*"', '"Principal": {"__proto__": "*"}')],
  ['prototype as a principal type', principal({ prototype: '*' })],
  // Unicode look-alikes and invisible characters.
  ['Effect with a Greek omicron', one({ Effect: 'All\u03bfw' })],
  ['Effect in full width', one({ Effect: '\uff21llow' })],
  ['action with a zero-width space', action('s3:GetObject\u200b')],
  ['action with a Cyrillic s', action('\u04553:GetObject')],
  ['Version with a Unicode hyphen', documentOf([statement()], '2012\u201010-17')],
  ['Statement with a Cyrillic e', `{"Stat\u0435ment": [${JSON.stringify(statement())}]}`],
  ['bucket with a Greek omicron', resource(`arn:aws:s3:::ph\u03bftos/*`)],
  ['Effect with a lone surrogate', one({ Effect: 'Allow\ud800' })],
  ['Effect with a right-to-left override', one({ Effect: '\u202eAllow' })],
  ['Version an emoji', documentOf([statement()], '\u{1f4a9}')],
  // Duplicate members.
  ['duplicate Statement', `{"Statement": [${JSON.stringify(statement())}], "Statement": []}`],
  [
    'duplicate Version',
    `{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": [${JSON.stringify(statement())}]}`,
  ],
  ['duplicate Effect', valid.replace('"Effect":"Allow"', '"Effect":"Deny","Effect":"Allow"')],
  ['duplicate Action', valid.replace('"Action":"s3:GetObject"', '"Action":"s3:GetObject","Action":"s3:*"')],
  [
    'duplicate condition key',
    valid.replace(
      '"Resource"',
      '"Condition":{"Bool":{"aws:SecureTransport":"true","aws:SecureTransport":"false"}},"Resource"',
    ),
  ],
  ['duplicate principal type', valid.replace('"Principal":"*"', '"Principal":{"AWS":"111122223333","AWS":"*"}')],
  ['duplicate Sid', documentOf([statement({ Sid: 'a' }), statement({ Sid: 'a' })])],
  // Contradictions.
  ['Action and NotAction', one({ NotAction: 's3:PutObject' })],
  ['Resource and NotResource', one({ NotResource: OBJECTS })],
  ['Principal and NotPrincipal', one({ NotPrincipal: { AWS: '111122223333' } })],
  ['NotPrincipal with Allow', one({ Principal: undefined, NotPrincipal: { AWS: '111122223333' } })],
  ['no Principal', one({ Principal: undefined })],
  ['no Action', one({ Action: undefined })],
  ['no Resource', one({ Resource: undefined })],
];
