/**
 * A real OTLP/HTTP trace receiver in the test process: accepts what the gateway's exporter
 * POSTs to /v1/traces (OTLP JSON), flattens it into spans with plain attribute objects, and
 * can play a collector that is slow (holds every export unanswered) instead of a healthy one.
 */
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';

type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttributeValue>;
  events: Array<{ name: string; attributes: Record<string, AttributeValue> }>;
  status: { code?: number; message?: string };
  resource: Record<string, AttributeValue>;
}

interface OtlpKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  events?: Array<{ name: string; attributes?: OtlpKeyValue[] }>;
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

function attributes(list: OtlpKeyValue[] = []): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
  }
  return out;
}

export interface OtlpReceiver {
  /** The base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  /** Gateway settings that export here, in batches every 20 ms so tests wait little. */
  exportEnv: Record<string, string>;
  spans: ReceivedSpan[];
  /** Export requests received, answered or not. */
  exports: number;
  /** 'ok' answers 200; 'hang' never answers (a collector stuck behind a full pipeline). */
  mode: 'ok' | 'hang';
  waitFor(what: string, predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const changed = new EventEmitter();
  const held: ServerResponse[] = [];
  const receiver: OtlpReceiver = {
    url: '',
    exportEnv: {},
    spans: [],
    exports: 0,
    mode: 'ok',
    async waitFor(what, predicate, timeoutMs = 15_000) {
      if (predicate(receiver.spans)) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          changed.off('spans', check);
          reject(new Error(`timed out waiting for ${what}; spans so far: ${receiver.spans.map((s) => s.name).join(', ')}`));
        }, timeoutMs);
        function check() {
          if (!predicate(receiver.spans)) return;
          clearTimeout(timer);
          changed.off('spans', check);
          resolve();
        }
        changed.on('spans', check);
      });
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    receiver.exports++;
    changed.emit('export');
    if (receiver.mode === 'hang') {
      held.push(res);
      return;
    }
    if (req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          receiver.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            startNs: BigInt(span.startTimeUnixNano),
            endNs: BigInt(span.endTimeUnixNano),
            attributes: attributes(span.attributes),
            events: (span.events ?? []).map((event) => ({ name: event.name, attributes: attributes(event.attributes) })),
            status: span.status ?? {},
            resource,
          });
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    changed.emit('spans');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  receiver.exportEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20' };
  return receiver;
}
