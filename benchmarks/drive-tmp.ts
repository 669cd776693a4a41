import { S3Client } from '/work/main/benchmarks/src/client.ts';
const url = process.argv[2];
const mode = process.argv[3] ?? 'all';
const server = { url, accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: 'secretEXAMPLEsecretEXAMPLEsecret0001' } as any;
const c = new S3Client(server, 16);
await c.createBucket('prof');
const t = (l: string, t0: number, bytes: number) => console.log(l, ((bytes / 1e6) / ((performance.now() - t0) / 1000)).toFixed(1), 'MB/s');
if (mode === "all" || mode === "big" || mode === "get") {
  let t0 = performance.now();
  for (let i = 0; i < 6; i++) await c.put('prof', `big${i}`, 64 << 20);
  t('PUT64', t0, 6 * (64 << 20));
  for (let r = 0; r < (mode === 'get' ? 3 : 1); r++) {
  t0 = performance.now();
  for (let i = 0; i < 6; i++) await c.get('prof', `big${i}`);
  t('GET64', t0, 6 * (64 << 20));
  }
}
if (mode === 'all' || mode === 'small') {
  let t0 = performance.now();
  let n = 0;
  await Promise.all(Array.from({ length: 16 }, async (_, w) => { for (let i = 0; i < 60; i++) { await c.put('prof', `s${w}-${i}`, 4096); n++; } }));
  console.log('PUT4K', (n / ((performance.now() - t0) / 1000)).toFixed(0), 'ops/s');
  t0 = performance.now(); n = 0;
  await Promise.all(Array.from({ length: 16 }, async (_, w) => { for (let i = 0; i < 60; i++) { await c.get('prof', `s${w}-${i}`); n++; } }));
  console.log('GET4K', (n / ((performance.now() - t0) / 1000)).toFixed(0), 'ops/s');
}
await c.close();
