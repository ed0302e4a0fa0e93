import { ByteReader, ByteWriter, decodeFieldTable, DefinitionChange, encodeFieldTable, FieldTable } from '#core';

/**
 * A definition change as the change log keeps it (jsonb): names as text, field tables in their
 * AMQP encoding as base64 (they hold typed values JSON cannot), a record's key as base64 (a
 * permission's key holds a NUL, which jsonb cannot), its value as the JSON it is.
 */
export type StoredChange =
  | { kind: 'vhost-put' | 'vhost-delete'; vhost: string }
  | { kind: 'exchange-put'; vhost: string; name: string; type: string; autoDelete: boolean; internal: boolean; arguments: string }
  | { kind: 'exchange-delete' | 'queue-delete'; vhost: string; name: string }
  | { kind: 'queue-put'; vhost: string; name: string; autoDelete: boolean; arguments: string }
  | {
      kind: 'binding-put' | 'binding-delete';
      vhost: string;
      source: string;
      /** The binding among those of its source (the node's binding key). */
      identity: string;
      destinationKind: 'queue' | 'exchange';
      destination: string;
      routingKey: string;
      arguments: string;
    }
  | { kind: 'record-put'; namespace: string; key: string; value: unknown }
  | { kind: 'record-delete'; namespace: string; key: string };

const keyOut = (key: string): string => Buffer.from(key).toString('base64');
const keyIn = (key: string): string => Buffer.from(key, 'base64').toString('utf8');

const writer = new ByteWriter(256);

/** A field table in the AMQP encoding (what the tables' `arguments` columns hold). */
export function encodeArguments(args: FieldTable): Buffer {
  writer.reset();
  encodeFieldTable(writer, args);
  return writer.toBuffer();
}

export function decodeArguments(bytes: Uint8Array): FieldTable {
  return decodeFieldTable(new ByteReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
}

/**
 * What a change is about, as one text: two changes with the same key change the same definition
 * (the later one wins). A binding is named by its identity among its source's bindings.
 */
export function definitionKey(change: DefinitionChange, identity = ''): string {
  switch (change.kind) {
    case 'vhost-put':
    case 'vhost-delete':
      return `vhost\n${change.vhost}`;
    case 'exchange-put':
      return `exchange\n${change.exchange.vhost}\n${change.exchange.name}`;
    case 'exchange-delete':
      return `exchange\n${change.vhost}\n${change.name}`;
    case 'queue-put':
      return `queue\n${change.queue.vhost}\n${change.queue.name}`;
    case 'queue-delete':
      return `queue\n${change.vhost}\n${change.name}`;
    case 'binding-put':
    case 'binding-delete':
      return bindingKey(change.binding.vhost, change.binding.source, identity);
    case 'record-put':
    case 'record-delete':
      return `record\n${change.namespace}\n${change.key}`;
  }
}

export const bindingKey = (vhost: string, source: string, identity: string): string => `binding\n${vhost}\n${source}\n${identity}`;

export function encodeChange(change: DefinitionChange, identity = ''): StoredChange {
  switch (change.kind) {
    case 'vhost-put':
    case 'vhost-delete':
      return { kind: change.kind, vhost: change.vhost };
    case 'exchange-put': {
      const e = change.exchange;
      return { kind: change.kind, vhost: e.vhost, name: e.name, type: e.type, autoDelete: e.autoDelete, internal: e.internal, arguments: encodeArguments(e.arguments).toString('base64') };
    }
    case 'exchange-delete':
    case 'queue-delete':
      return { kind: change.kind, vhost: change.vhost, name: change.name };
    case 'queue-put': {
      const q = change.queue;
      return { kind: change.kind, vhost: q.vhost, name: q.name, autoDelete: q.autoDelete, arguments: encodeArguments(q.arguments).toString('base64') };
    }
    case 'binding-put':
    case 'binding-delete': {
      const b = change.binding;
      return {
        kind: change.kind,
        vhost: b.vhost,
        source: b.source,
        identity,
        destinationKind: b.destinationKind,
        destination: b.destination,
        routingKey: b.routingKey,
        arguments: encodeArguments(b.arguments).toString('base64'),
      };
    }
    case 'record-put':
      return { kind: change.kind, namespace: change.namespace, key: keyOut(change.key), value: JSON.parse(change.value.toString('utf8')) as unknown };
    case 'record-delete':
      return { kind: change.kind, namespace: change.namespace, key: keyOut(change.key) };
  }
}

export function decodeChange(stored: StoredChange): DefinitionChange {
  switch (stored.kind) {
    case 'vhost-put':
    case 'vhost-delete':
      return { kind: stored.kind, vhost: stored.vhost };
    case 'exchange-put':
      return {
        kind: stored.kind,
        exchange: {
          vhost: stored.vhost,
          name: stored.name,
          type: stored.type,
          durable: true,
          autoDelete: stored.autoDelete,
          internal: stored.internal,
          arguments: decodeArguments(Buffer.from(stored.arguments, 'base64')),
        },
      };
    case 'exchange-delete':
    case 'queue-delete':
      return { kind: stored.kind, vhost: stored.vhost, name: stored.name };
    case 'queue-put':
      return {
        kind: stored.kind,
        queue: { vhost: stored.vhost, name: stored.name, autoDelete: stored.autoDelete, arguments: decodeArguments(Buffer.from(stored.arguments, 'base64')) },
      };
    case 'binding-put':
    case 'binding-delete':
      return {
        kind: stored.kind,
        binding: {
          vhost: stored.vhost,
          source: stored.source,
          destinationKind: stored.destinationKind,
          destination: stored.destination,
          routingKey: stored.routingKey,
          arguments: decodeArguments(Buffer.from(stored.arguments, 'base64')),
        },
      };
    case 'record-put':
      return { kind: stored.kind, namespace: stored.namespace, key: keyIn(stored.key), value: Buffer.from(JSON.stringify(stored.value)) };
    case 'record-delete':
      return { kind: stored.kind, namespace: stored.namespace, key: keyIn(stored.key) };
  }
}
