import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import sax from 'sax';

import { XmlError } from './errors.ts';

/** Options of every parser in this package. */
export interface ParseOptions {
  /** Largest body accepted, in bytes; reading stops with XML_TOO_LARGE as soon as it is passed. Default 1 MiB. */
  maxBytes?: number;
  /** Aborts the read: the promise rejects with `signal.reason` and the source's iterator is closed. */
  signal?: AbortSignal;
}

/** Defaults of {@link ParseOptions}. */
export const DEFAULT_PARSE_OPTIONS: Readonly<Required<Pick<ParseOptions, 'maxBytes'>>> = Object.freeze({
  maxBytes: 1024 * 1024,
});

/** One parsed element. Attributes keep their raw (prefixed) names; text is the element's own text, untrimmed. */
export interface XmlElement {
  /** Local name, namespace prefix stripped (`s3:Part` → `Part`). */
  name: string;
  /** Attributes as written, names unchanged (`xmlns`, `xmlns:s3`, `xsi:type`), values entity-decoded. */
  attributes: Record<string, string>;
  /** Child elements in document order. */
  children: XmlElement[];
  /** Concatenated text and CDATA directly inside this element (not its children's), exactly as sent. */
  text: string;
}

/** A request body as it arrives: a Readable, an async generator, … */
export type XmlSource = AsyncIterable<Buffer | Uint8Array | string>;

function resolveOptions(opts: ParseOptions | undefined): { maxBytes: number; signal?: AbortSignal } {
  if (opts === undefined) return { ...DEFAULT_PARSE_OPTIONS };
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const maxBytes = opts.maxBytes ?? DEFAULT_PARSE_OPTIONS.maxBytes;
  if (typeof maxBytes !== 'number') throw new TypeError('options.maxBytes must be a number');
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError('options.maxBytes must be a positive integer');
  }
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  return { maxBytes, signal };
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

/** Feeds decoded text to sax and builds the element tree; the first problem is kept in `failure`. */
class TreeBuilder {
  private readonly parser = sax.parser(true, { xmlns: false, trim: false, position: false });
  private readonly decoder = new StringDecoder('utf8');
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | undefined;
  private sawNonWhitespace = false;
  private failure: XmlError | undefined;

  constructor() {
    const p = this.parser;
    p.onopentag = (tag) => {
      if (this.root !== undefined && this.stack.length === 0) {
        this.fail('more than one root element');
        return;
      }
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(tag.attributes)) attributes[k] = typeof v === 'string' ? v : v.value;
      const el: XmlElement = { name: localName(tag.name), attributes, children: [], text: '' };
      const parent = this.stack.at(-1);
      if (parent) parent.children.push(el);
      else this.root = el;
      this.stack.push(el);
    };
    p.onclosetag = () => {
      this.stack.pop();
    };
    p.ontext = (text) => this.appendText(text);
    p.oncdata = (text) => this.appendText(text);
    // No DTDs at all: entity declarations are the door to expansion bombs and XXE.
    p.ondoctype = () => this.fail('DOCTYPE is not allowed');
    p.onsgmldeclaration = () => this.fail('SGML declarations are not allowed');
    p.onerror = (err) => this.fail(err.message.split('\n')[0] ?? 'parse error', err);
  }

  private appendText(text: string): void {
    const top = this.stack.at(-1);
    if (top) top.text += text;
  }

  private fail(reason: string, cause?: unknown): void {
    this.failure ??= new XmlError('XML_MALFORMED', reason, { cause });
  }

  private feed(text: string): void {
    if (text === '') return;
    if (!this.sawNonWhitespace && /\S/.test(text)) this.sawNonWhitespace = true;
    try {
      this.parser.write(text);
    } catch (err) {
      this.fail(err instanceof Error ? (err.message.split('\n')[0] ?? 'parse error') : 'parse error', err);
    }
    if (this.failure) throw this.failure;
  }

  write(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.feed(this.decoder.write(buf));
  }

  end(): XmlElement | undefined {
    this.feed(this.decoder.end());
    try {
      this.parser.close();
    } catch (err) {
      this.fail('parse error', err);
    }
    if (this.failure) throw this.failure;
    if (this.root === undefined) {
      if (this.sawNonWhitespace) throw new XmlError('XML_MALFORMED', 'no root element');
      return undefined;
    }
    return this.root;
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Parses an XML request body, streaming: chunks go to sax as the source yields them, UTF-8 decoded with a
 * StringDecoder so characters split across chunks survive. Namespaces are tolerated and prefixes stripped;
 * DOCTYPE (and so entity declarations) is refused; only the five XML entities and character references expand.
 *
 * When it stops early (too large, malformed, aborted) the source's iterator is closed, but a `Readable` is not
 * destroyed: it is left paused, for the caller to drain (`resume()`) or destroy after answering.
 *
 * @returns the root element, or `undefined` for an empty or whitespace-only body
 * @throws XmlError XML_TOO_LARGE once more than `maxBytes` arrived (the source is not read further),
 *   XML_MALFORMED for anything not well-formed (unclosed tags, text outside the root, two roots, DOCTYPE)
 */
export async function parseXml(source: XmlSource, opts?: ParseOptions): Promise<XmlElement | undefined> {
  const { maxBytes, signal } = resolveOptions(opts);
  if (source === null || typeof source !== 'object' || typeof source[Symbol.asyncIterator] !== 'function') {
    throw new TypeError('source must be an async iterable of Buffer or string chunks');
  }
  signal?.throwIfAborted();
  const builder = new TreeBuilder();
  // A Readable (an IncomingMessage) is not destroyed when we stop early: destroying a request kills its socket
  // and the server could not send its 400. It is left paused with its listeners removed; the caller owns it.
  const iterator: AsyncIterator<Buffer | Uint8Array | string> =
    source instanceof Readable ? source.iterator({ destroyOnReturn: false }) : source[Symbol.asyncIterator]();
  let finished = false;
  let total = 0;
  try {
    for (;;) {
      const next = iterator.next();
      const step = signal ? await raceAbort(next, signal) : await next;
      if (step.done) {
        finished = true;
        break;
      }
      const chunk = step.value;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      if (!(bytes instanceof Uint8Array)) throw new TypeError('source must yield Buffer, Uint8Array or string chunks');
      total += bytes.byteLength;
      if (total > maxBytes) {
        throw new XmlError('XML_TOO_LARGE', `body is larger than ${maxBytes} bytes`, {
          details: {},
        });
      }
      builder.write(bytes);
    }
    return builder.end();
  } finally {
    if (!finished && typeof iterator.return === 'function') {
      // Stop the producer (a generator runs its finally; a Readable only loses our listeners); don't wait, it
      // may be stuck in a pending read.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {});
    }
  }
}
