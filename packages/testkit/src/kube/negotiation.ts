/**
 * Response content negotiation as kube-apiserver's `NegotiateMediaTypeOptions` (apiserver
 * `pkg/endpoints/handlers/negotiation/negotiate.go`) does it: the Accept clauses are ordered by q, specific types
 * before wildcards (ties keep their order), and for each clause in turn the first serializer it matches wins.
 */
import { protobufMediaType } from './protobuf.js';

/** The encodings the fake writes. */
export type ResponseEncoding = 'json' | 'protobuf';

/** One Accept clause. */
interface AcceptClause {
  readonly type: string;
  readonly subType: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
}

interface Serializer {
  readonly encoding: ResponseEncoding;
  readonly type: string;
  readonly subType: string;
}

/** The serializers in the server's order: JSON first, so an empty Accept or `*\/*` gets JSON. */
const serializers: readonly Serializer[] = [
  { encoding: 'json', type: 'application', subType: 'json' },
  { encoding: 'protobuf', type: 'application', subType: 'vnd.kubernetes.protobuf' },
];

/** The media type of each encoding, as a non-watch response's Content-Type. */
export const mediaTypes: Readonly<Record<ResponseEncoding, string>> = { json: 'application/json', protobuf: protobufMediaType };

/**
 * `goautoneg.ParseAccept`: comma-separated clauses, `type/subtype` (a bare `*` is `*\/*`; anything else without one
 * slash is dropped), `;`-separated `key=value` parameters of which `q` is the weight. A q of 0 only orders the
 * clause last, as in the server, which does not drop it.
 */
export function parseAccept(header: string): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const part of header.split(',')) {
    const [range = '', ...rawParams] = part.trim().split(';');
    const slashes = range.split('/');
    let type: string;
    let subType: string;
    if (slashes.length === 1 && slashes[0]?.trim() === '*') {
      type = '*';
      subType = '*';
    } else if (slashes.length === 2) {
      type = (slashes[0] ?? '').trim().toLowerCase();
      subType = (slashes[1] ?? '').trim().toLowerCase();
    } else {
      continue;
    }
    let q = 1;
    const params = new Map<string, string>();
    for (const raw of rawParams) {
      const kv = raw.split('=');
      if (kv.length !== 2) continue;
      const key = (kv[0] ?? '').trim();
      const value = (kv[1] ?? '').trim();
      if (key === 'q') q = Number.parseFloat(value) || 0;
      else params.set(key, value);
    }
    clauses.push({ type, subType, q, params });
  }
  // Array.prototype.sort is stable, so clauses that compare equal keep the header's order.
  return clauses.sort((a, b) => b.q - a.q || Number(a.type === '*') - Number(b.type === '*') || Number(a.subType === '*') - Number(b.subType === '*'));
}

function matches(clause: AcceptClause, s: Serializer): boolean {
  if (clause.type === '*' && clause.subType === '*') return true;
  return clause.type === s.type && (clause.subType === s.subType || clause.subType === '*');
}

/** What the endpoint allows (`EndpointRestrictions`). */
export interface NegotiationTarget {
  /** Whether the resource has a protobuf form; custom resources do not. */
  readonly protobuf: boolean;
  /** Whether this is a watch, which allows the `stream=watch` parameter. */
  readonly watch: boolean;
}

/**
 * `acceptMediaTypeOptions`: a clause asking for a conversion (`as`, `g`, `v`, such as
 * `as=PartialObjectMetadataList`) is one the fake cannot serve, so it is passed over as the server passes over one
 * it cannot transform; `stream` is accepted on watches only; other parameters are ignored.
 */
function acceptable(clause: AcceptClause, s: Serializer, target: NegotiationTarget): boolean {
  if (s.encoding === 'protobuf' && !target.protobuf) return false;
  if (clause.params.has('as') || clause.params.has('g') || clause.params.has('v')) return false;
  const stream = clause.params.get('stream');
  if (stream !== undefined && stream !== '' && (!target.watch || stream !== 'watch')) return false;
  return true;
}

/**
 * Chooses the response encoding for an Accept header; undefined when no clause can be served (HTTP 406).
 *
 * @example negotiate('application/vnd.kubernetes.protobuf, application/json', { protobuf: false, watch: false }) // 'json'
 */
export function negotiate(accept: string | undefined, target: NegotiationTarget): ResponseEncoding | undefined {
  if (accept === undefined || accept === '') return 'json';
  for (const clause of parseAccept(accept)) {
    for (const s of serializers) {
      if (matches(clause, s) && acceptable(clause, s, target)) return s.encoding;
    }
  }
  return undefined;
}

/** The media types a 406 lists: every type for a GET or LIST, the stream forms for a watch (`MediaTypesForSerializer`). */
export function supportedMediaTypes(watch: boolean): string[] {
  return serializers.map((s) => `${s.type}/${s.subType}${watch ? ';stream=watch' : ''}`);
}
