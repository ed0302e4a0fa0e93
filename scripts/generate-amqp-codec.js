#!/usr/bin/env node
// Generates libs/amqp/src/codec/methods.generated.ts from the AMQP 0-9-1 spec XML in
// libs/amqp/spec/: amqp0-9-1.stripped.extended.xml (RabbitMQ's copy of the spec, kept unmodified)
// plus rabbitmq-extensions.xml (RabbitMQ methods that copy lacks, e.g. connection.blocked), whose
// methods are merged into the main spec's classes. Plain Node, no dependencies (includes a tiny
// parser for the subset of XML the spec files use: declaration, comments, elements with
// double-quoted attributes).
//
//   node scripts/generate-amqp-codec.js          write the generated file
//   node scripts/generate-amqp-codec.js --check  exit 1 if the committed file is out of date
//
// Also usable as a module: require('./generate-amqp-codec.js').generate(specXml, extensionsXml)
// returns the file contents; readInputs() reads both XML files (the regeneration test uses these).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const SPEC_REL = 'libs/amqp/spec/amqp0-9-1.stripped.extended.xml';
const EXTENSIONS_REL = 'libs/amqp/spec/rabbitmq-extensions.xml';
const OUT_REL = 'libs/amqp/src/codec/methods.generated.ts';
const SPEC_PATH = path.join(ROOT, SPEC_REL);
const EXTENSIONS_PATH = path.join(ROOT, EXTENSIONS_REL);
const OUT_PATH = path.join(ROOT, OUT_REL);

// Constants RabbitMQ uses that the stripped spec does not list.
const EXTRA_CONSTANTS = [{ name: 'no-route', value: 312, cls: 'soft-error' }];

// Field names normalised for a consistent API (confirm.select spells no-wait as "nowait").
const FIELD_NAME_ALIASES = { nowait: 'noWait' };

// ---------------------------------------------------------------------------------------------
// XML

function decodeEntities(s) {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** Parses XML into { name, attrs, children } elements (text content is ignored). */
function parseXml(text) {
  const root = { name: '#document', attrs: {}, children: [] };
  const stack = [root];
  let i = 0;
  const n = text.length;
  const fail = (msg) => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`XML parse error at line ${line}: ${msg}`);
  };
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) fail('unterminated declaration');
      i = end + 2;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) fail('unterminated CDATA');
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      const end = text.indexOf('>', i + 2);
      if (end < 0) fail('unterminated <! construct');
      i = end + 1;
    } else if (text.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(text.slice(i, i + 200));
      if (!m) fail('bad closing tag');
      const top = stack.pop();
      if (!top || top.name !== m[1]) fail(`mismatched </${m[1]}> (open: ${top && top.name})`);
      i += m[0].length;
    } else {
      const nameMatch = /^<([A-Za-z_][\w.-]*)/.exec(text.slice(i, i + 200));
      if (!nameMatch) fail('bad tag');
      const el = { name: nameMatch[1], attrs: {}, children: [] };
      i += nameMatch[0].length;
      const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*"([^"]*)"/y;
      for (;;) {
        attrRe.lastIndex = i;
        const a = attrRe.exec(text);
        if (!a) break;
        el.attrs[a[1]] = decodeEntities(a[2]);
        i = attrRe.lastIndex;
      }
      const close = /^\s*(\/?)>/.exec(text.slice(i, i + 100));
      if (!close) fail(`bad attribute syntax in <${el.name}>`);
      i += close[0].length;
      stack[stack.length - 1].children.push(el);
      if (close[1] !== '/') stack.push(el);
    }
  }
  if (stack.length !== 1) fail(`unclosed <${stack[stack.length - 1].name}>`);
  const docs = root.children;
  if (docs.length !== 1) throw new Error('XML must have exactly one root element');
  return docs[0];
}

// ---------------------------------------------------------------------------------------------
// Spec model

const PRIMITIVES = new Set(['bit', 'octet', 'short', 'long', 'longlong', 'shortstr', 'longstr', 'table', 'timestamp']);

function camel(name) {
  const c = name.replace(/-([a-z0-9])/g, (_, ch) => ch.toUpperCase());
  return FIELD_NAME_ALIASES[c] || c;
}

function pascal(name) {
  const c = camel(name);
  return c[0].toUpperCase() + c.slice(1);
}

function int(s, what) {
  const v = Number(s);
  if (!Number.isInteger(v)) throw new Error(`bad integer for ${what}: ${s}`);
  return v;
}

/**
 * Reads one spec document: constants, domains and classes. `baseDomains` (the main spec's) are
 * visible to field types, so the extensions file can use e.g. domain="shortstr".
 */
function readDocument(xmlText, label, baseDomains, extension) {
  const amqp = parseXml(xmlText);
  if (amqp.name !== 'amqp') throw new Error(`${label}: root element is <${amqp.name}>, expected <amqp>`);
  const version = `${amqp.attrs.major}-${amqp.attrs.minor}-${amqp.attrs.revision}`;
  const constants = [];
  const domains = new Map(baseDomains);
  const classes = [];
  for (const el of amqp.children) {
    if (el.name === 'constant') {
      constants.push({ name: el.attrs.name, value: int(el.attrs.value, el.attrs.name), cls: el.attrs.class || null });
    } else if (el.name === 'domain') {
      domains.set(el.attrs.name, el.attrs.type);
    }
  }
  const resolve = (field, where) => {
    let t = field.attrs.type;
    if (!t) {
      t = domains.get(field.attrs.domain);
      if (!t) throw new Error(`${label}: ${where}: unknown domain ${field.attrs.domain}`);
    }
    // Domains may refer to other domains.
    for (let guard = 0; !PRIMITIVES.has(t); guard++) {
      const next = domains.get(t);
      if (!next || guard > 10) throw new Error(`${label}: ${where}: cannot resolve type ${t}`);
      t = next;
    }
    return t;
  };
  for (const el of amqp.children) {
    if (el.name !== 'class') continue;
    const cls = {
      name: el.attrs.name,
      index: int(el.attrs.index, el.attrs.name),
      properties: [],
      methods: [],
    };
    for (const child of el.children) {
      if (child.name === 'field') {
        cls.properties.push({ name: child.attrs.name, type: resolve(child, `${cls.name} property ${child.attrs.name}`) });
      } else if (child.name === 'method') {
        const m = {
          className: cls.name,
          classIndex: cls.index,
          name: child.attrs.name,
          index: int(child.attrs.index, `${cls.name}.${child.attrs.name}`),
          synchronous: child.attrs.synchronous === '1',
          content: child.attrs.content === '1',
          deprecated: child.attrs.deprecated === '1',
          extension,
          responses: [],
          server: false,
          client: false,
          fields: [],
        };
        for (const f of child.children) {
          if (f.name === 'response') m.responses.push(f.attrs.name);
          else if (f.name === 'chassis') {
            if (f.attrs.name === 'server') m.server = true;
            if (f.attrs.name === 'client') m.client = true;
          } else if (f.name === 'field') {
            m.fields.push({
              name: f.attrs.name,
              prop: camel(f.attrs.name),
              type: resolve(f, `${cls.name}.${m.name} ${f.attrs.name}`),
              reserved: f.attrs.reserved === '1',
            });
          }
        }
        cls.methods.push(m);
      }
    }
    classes.push(cls);
  }
  return { version, constants, domains, classes };
}

/**
 * Loads the main spec and, if given, merges the extensions document into it: each extension
 * method is appended to the main spec's class of the same name (which must exist with the same
 * index); a repeated method name or index is an error. Extension methods get `extension: true`.
 * The extensions document may define domains, not constants or class properties.
 */
function loadSpec(xmlText, extensionsXmlText) {
  const spec = readDocument(xmlText, SPEC_REL, new Map(), false);
  for (const c of EXTRA_CONSTANTS) {
    if (!spec.constants.some((k) => k.name === c.name)) spec.constants.push({ ...c, extra: true });
  }
  if (extensionsXmlText !== undefined) {
    const label = EXTENSIONS_REL;
    const ext = readDocument(extensionsXmlText, label, spec.domains, true);
    if (ext.version !== spec.version) throw new Error(`${label}: version ${ext.version}, main spec is ${spec.version}`);
    if (ext.constants.length) throw new Error(`${label}: <constant> is not supported in the extensions file`);
    for (const extCls of ext.classes) {
      const cls = spec.classes.find((c) => c.name === extCls.name);
      if (!cls) throw new Error(`${label}: class ${extCls.name} is not in the main spec`);
      if (cls.index !== extCls.index) {
        throw new Error(`${label}: class ${extCls.name} has index ${extCls.index}, main spec says ${cls.index}`);
      }
      if (extCls.properties.length) throw new Error(`${label}: class ${extCls.name}: properties cannot be extended`);
      for (const m of extCls.methods) {
        const clash = cls.methods.find((o) => o.name === m.name || o.index === m.index);
        if (clash) {
          throw new Error(`${label}: ${cls.name}.${m.name} (${m.index}) clashes with ${cls.name}.${clash.name} (${clash.index})`);
        }
        cls.methods.push(m);
      }
    }
  }
  return { version: spec.version, constants: spec.constants, classes: spec.classes };
}

function readInputs() {
  return { specXml: fs.readFileSync(SPEC_PATH, 'utf8'), extensionsXml: fs.readFileSync(EXTENSIONS_PATH, 'utf8') };
}

// ---------------------------------------------------------------------------------------------
// Code generation

const TS_TYPES = {
  bit: 'boolean',
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  timestamp: 'number',
  shortstr: 'string',
  longstr: 'Buffer',
  table: 'FieldTable',
};

function hex8(v) {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function methodKey(m) {
  return pascal(m.className) + pascal(m.name);
}

function methodId(m) {
  return m.classIndex * 65536 + m.index;
}

/** Groups fields into steps; consecutive bits share an octet (at most 8 per octet). */
function steps(fields) {
  const out = [];
  let bits = null;
  for (const f of fields) {
    if (f.type === 'bit') {
      if (!bits || bits.fields.length === 8) {
        bits = { kind: 'bits', fields: [] };
        out.push(bits);
      }
      bits.fields.push(f);
    } else {
      bits = null;
      out.push({ kind: 'field', field: f });
    }
  }
  return out;
}

function genDecoder(m) {
  const key = methodKey(m);
  const label = `${m.className}.${m.name}`;
  const visible = m.fields.filter((f) => !f.reserved);
  const lines = [];
  if (m.fields.length === 0) {
    lines.push(`export function decode${key}(_r: ByteReader): ${key} {`);
    lines.push('  return EMPTY_ARGS;');
    lines.push('}');
    return lines.join('\n');
  }
  lines.push(`export function decode${key}(r: ByteReader): ${key} {`);
  const values = new Map();
  let bitGroup = 0;
  for (const s of steps(m.fields)) {
    if (s.kind === 'bits') {
      const v = `bits${bitGroup++}`;
      const names = s.fields.map((f) => f.name).join(', ');
      const anyVisible = s.fields.some((f) => !f.reserved);
      if (anyVisible) lines.push(`  const ${v} = r.u8('${label} ${names}');`);
      else lines.push(`  r.u8('${label} ${names}');`);
      s.fields.forEach((f, i) => {
        if (!f.reserved) values.set(f, `(${v} & ${1 << i}) !== 0`);
      });
      continue;
    }
    const f = s.field;
    const what = `'${label} ${f.name}'`;
    let expr;
    switch (f.type) {
      case 'octet':
        expr = `r.u8(${what})`;
        break;
      case 'short':
        expr = `r.u16(${what})`;
        break;
      case 'long':
        expr = `r.u32(${what})`;
        break;
      case 'longlong':
      case 'timestamp':
        expr = `r.u64(${what})`;
        break;
      case 'shortstr':
        // names, routing keys and tags must be UTF-8: byte names that differ must not decode alike
        expr = f.reserved ? `r.skip(r.u8(${what}), ${what})` : `r.shortName(${what})`;
        break;
      case 'longstr':
        expr = `r.longStr(${what})`;
        break;
      case 'table':
        expr = 'decodeFieldTable(r)';
        break;
      default:
        throw new Error(`unhandled type ${f.type}`);
    }
    if (f.reserved) lines.push(`  ${expr};`);
    else {
      const v = `_${f.prop}`;
      lines.push(`  const ${v} = ${expr};`);
      values.set(f, v);
    }
  }
  if (visible.length === 0) {
    lines.push('  return EMPTY_ARGS;');
  } else {
    lines.push('  return {');
    for (const f of visible) lines.push(`    ${f.prop}: ${values.get(f)},`);
    lines.push('  };');
  }
  lines.push('}');
  return lines.join('\n');
}

function genEncoder(m) {
  const key = methodKey(m);
  const visible = m.fields.filter((f) => !f.reserved);
  const lines = [];
  const argName = visible.length === 0 ? '_a' : 'a';
  const wName = m.fields.length === 0 ? '_w' : 'w';
  lines.push(`export function encode${key}(${wName}: ByteWriter, ${argName}: ${key}): void {`);
  for (const s of steps(m.fields)) {
    if (s.kind === 'bits') {
      const parts = [];
      s.fields.forEach((f, i) => {
        if (!f.reserved) parts.push(`(a.${f.prop} ? ${1 << i} : 0)`);
      });
      lines.push(`  w.u8(${parts.length ? parts.join(' | ') : '0'});`);
      continue;
    }
    const f = s.field;
    const v = `a.${f.prop}`;
    switch (f.type) {
      case 'octet':
        lines.push(`  w.u8(${f.reserved ? '0' : v});`);
        break;
      case 'short':
        lines.push(`  w.u16(${f.reserved ? '0' : v});`);
        break;
      case 'long':
        lines.push(`  w.u32(${f.reserved ? '0' : v});`);
        break;
      case 'longlong':
      case 'timestamp':
        lines.push(`  w.u64(${f.reserved ? '0' : v});`);
        break;
      case 'shortstr':
        lines.push(f.reserved ? '  w.u8(0);' : `  w.shortStr(${v});`);
        break;
      case 'longstr':
        lines.push(f.reserved ? '  w.u32(0);' : `  w.longStr(${v});`);
        break;
      case 'table':
        lines.push(`  encodeFieldTable(w, ${f.reserved ? 'undefined' : v});`);
        break;
      default:
        throw new Error(`unhandled type ${f.type}`);
    }
  }
  lines.push('}');
  lines.push('');
  lines.push(`/** Writes a complete ${m.className}.${m.name} method frame. */`);
  lines.push(`export function encode${key}Frame(w: ByteWriter, channel: number, a: ${key}): void {`);
  lines.push(`  const start = beginMethodFrame(w, channel, MethodId.${key});`);
  lines.push('  try {');
  lines.push(`    encode${key}(w, a);`);
  lines.push('  } catch (error) {');
  lines.push('    w.truncate(start); // never leave half a frame for the socket');
  lines.push('    throw error;');
  lines.push('  }');
  lines.push('  endFrame(w, start);');
  lines.push('}');
  return lines.join('\n');
}

function genInterface(m) {
  const key = methodKey(m);
  const visible = m.fields.filter((f) => !f.reserved);
  const doc = [`${m.className}.${m.name} (${m.classIndex}/${m.index})`];
  const traits = [];
  if (m.synchronous) traits.push('synchronous');
  if (m.content) traits.push('carries content');
  if (m.deprecated) traits.push('deprecated');
  if (m.extension) traits.push('RabbitMQ extension');
  const dirs = [];
  if (m.client) dirs.push('server → client');
  if (m.server) dirs.push('client → server');
  if (dirs.length) traits.push(dirs.join(', '));
  if (m.responses.length) traits.push(`reply: ${m.responses.map((r) => `${m.className}.${r}`).join(' | ')}`);
  const reserved = m.fields.filter((f) => f.reserved).map((f) => `${f.name} (${f.type})`);
  if (reserved.length) traits.push(`reserved on the wire: ${reserved.join(', ')}`);
  const head = `/** ${doc[0]}${traits.length ? `: ${traits.join('; ')}` : ''}. */`;
  if (visible.length === 0) return `${head}\nexport type ${key} = Record<string, never>;`;
  const lines = [head, `export interface ${key} {`];
  for (const f of visible) {
    const note = f.type === 'longlong' || f.type === 'timestamp' ? ` // ${f.type}` : '';
    lines.push(`  ${f.prop}: ${TS_TYPES[f.type]};${note}`);
  }
  lines.push('}');
  return lines.join('\n');
}

function generate(xmlText, extensionsXmlText) {
  const spec = loadSpec(xmlText, extensionsXmlText);
  const methods = [];
  for (const c of spec.classes) for (const m of c.methods) methods.push(m);
  const extensionCount = methods.filter((m) => m.extension).length;
  const byName = new Map(methods.map((m) => [`${m.className}.${m.name}`, m]));
  const out = [];
  const emit = (s = '') => out.push(s);

  const inputs = extensionsXmlText !== undefined ? `${SPEC_REL}\n// and ${EXTENSIONS_REL}` : SPEC_REL;
  emit(`// GENERATED by scripts/generate-amqp-codec.js from ${inputs}; do not edit.`);
  emit('// Regenerate with `npm run gen:amqp`; test/unit/amqp-codec.test.ts fails if this file drifts.');
  emit(
    `// AMQP ${spec.version}: ${spec.classes.length} classes, ${methods.length} methods` +
      (extensionCount ? ` (${extensionCount} of them RabbitMQ extensions).` : '.'),
  );
  emit('/* eslint-disable */');
  emit("import { ByteReader, ByteWriter, FieldTable, decodeFieldTable, encodeFieldTable } from '#core';");
  emit("import { UnknownMethodError } from './errors';");
  emit("import { beginMethodFrame, endFrame } from './frame';");
  emit();

  // Constants
  emit('/** Every constant in the spec (frame types, sizes, reply codes). */');
  emit('export const AmqpConstant = {');
  for (const c of spec.constants) {
    emit(`  ${pascal(c.name)}: ${c.value},${c.extra ? ' // RabbitMQ extension, not in the stripped spec' : ''}`);
  }
  emit('} as const;');
  emit();
  emit('/** Reply codes for connection.close / channel.close. */');
  emit('export const ReplyCode = {');
  for (const c of spec.constants) {
    if (c.cls || c.name === 'reply-success') emit(`  ${pascal(c.name)}: ${c.value},`);
  }
  emit('} as const;');
  emit('export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];');
  emit();
  emit('/** Reply codes the spec classes as hard errors: they close the connection, not just the channel. */');
  emit('export function isHardError(replyCode: number): boolean {');
  emit('  switch (replyCode) {');
  for (const c of spec.constants) if (c.cls === 'hard-error') emit(`    case ${c.value}:`);
  emit('      return true;');
  emit('    default:');
  emit('      return false;');
  emit('  }');
  emit('}');
  emit();

  // Ids
  emit('export const ClassId = {');
  for (const c of spec.classes) emit(`  ${pascal(c.name)}: ${c.index},`);
  emit('} as const;');
  emit('export type ClassId = (typeof ClassId)[keyof typeof ClassId];');
  emit();
  emit('/** Method ids: classId << 16 | methodId (the class and method id octets as one big-endian u32). */');
  emit('export const MethodId = {');
  for (const m of methods) emit(`  ${methodKey(m)}: ${hex8(methodId(m))}, // ${m.classIndex}/${m.index}`);
  emit('} as const;');
  emit('export type MethodId = (typeof MethodId)[keyof typeof MethodId];');
  emit();

  // Interfaces
  emit('// ---------------------------------------------------------------------------------------------');
  emit('// Method arguments. longlong and timestamp fields are numbers (exact up to 2^53).');
  emit();
  for (const m of methods) {
    emit(genInterface(m));
    emit();
  }

  emit('/** Method arguments by method id. */');
  emit('export interface MethodArgs {');
  for (const m of methods) emit(`  ${hex8(methodId(m))}: ${methodKey(m)};`);
  emit('}');
  emit();
  emit('/** A decoded method: discriminate on `id` (a MethodId) to get typed `args`. */');
  emit('export type AmqpMethod =');
  methods.forEach((m, i) => {
    const key = methodKey(m);
    emit(`  | { readonly id: typeof MethodId.${key}; readonly args: ${key} }${i === methods.length - 1 ? ';' : ''}`);
  });
  emit();
  emit('/** The AmqpMethod member for one method id, e.g. `AmqpMethodOf<typeof MethodId.BasicPublish>`. */');
  emit('export type AmqpMethodOf<K extends MethodId> = Extract<AmqpMethod, { readonly id: K }>;');
  emit();

  // Info tables
  emit('export interface MethodInfo {');
  emit('  readonly id: MethodId;');
  emit("  /** e.g. 'basic.publish' */");
  emit('  readonly name: string;');
  emit('  readonly classId: number;');
  emit('  readonly methodId: number;');
  emit('  /** Followed by a content header and body frames. */');
  emit('  readonly content: boolean;');
  emit('  /** The spec marks it synchronous (the sender waits for one of `responses`). */');
  emit('  readonly synchronous: boolean;');
  emit('  readonly responses: readonly MethodId[];');
  emit('  /** The server implements it, i.e. a client may send it (chassis "server"). */');
  emit('  readonly serverReceives: boolean;');
  emit('  /** The client implements it, i.e. the server may send it (chassis "client"). */');
  emit('  readonly clientReceives: boolean;');
  emit('  readonly deprecated: boolean;');
  emit('}');
  emit();
  emit('export const METHOD_INFO: ReadonlyMap<number, MethodInfo> = new Map<number, MethodInfo>([');
  for (const m of methods) {
    const key = methodKey(m);
    const responses = m.responses.map((r) => {
      const target = byName.get(`${m.className}.${r}`);
      if (!target) throw new Error(`${m.className}.${m.name}: unknown response ${r}`);
      return `MethodId.${methodKey(target)}`;
    });
    emit(
      `  [MethodId.${key}, { id: MethodId.${key}, name: '${m.className}.${m.name}', classId: ${m.classIndex}, ` +
        `methodId: ${m.index}, content: ${m.content}, synchronous: ${m.synchronous}, responses: [${responses.join(', ')}], ` +
        `serverReceives: ${m.server}, clientReceives: ${m.client}, deprecated: ${m.deprecated} }],`,
    );
  }
  emit(']);');
  emit();
  emit('export const CLASS_NAMES: ReadonlyMap<number, string> = new Map<number, string>([');
  for (const c of spec.classes) emit(`  [${c.index}, '${c.name}'],`);
  emit(']);');
  emit();
  emit('export function methodInfo(classId: number, methodId: number): MethodInfo | undefined {');
  emit('  return METHOD_INFO.get(classId * 65536 + methodId);');
  emit('}');
  emit();
  emit("/** 'basic.publish', or e.g. 'unknown method 60/99' / 'unknown class 70 method 10' for error texts. */");
  emit('export function methodName(classId: number, methodId: number): string {');
  emit('  const info = METHOD_INFO.get(classId * 65536 + methodId);');
  emit('  if (info !== undefined) return info.name;');
  emit('  const cls = CLASS_NAMES.get(classId);');
  emit('  return cls !== undefined ? `unknown method ${cls}/${methodId}` : `unknown class ${classId} method ${methodId}`;');
  emit('}');
  emit();
  emit('/** methodName of a MethodId (class id in the high 16 bits). */');
  emit('export function methodNameOf(id: number): string {');
  emit('  return methodName(id >>> 16, id & 0xffff);');
  emit('}');
  emit();
  emit('/** True for basic.publish, basic.return, basic.deliver and basic.get-ok. */');
  emit('export function methodHasContent(id: number): boolean {');
  emit('  switch (id) {');
  for (const m of methods) if (m.content) emit(`    case ${hex8(methodId(m))}: // ${m.className}.${m.name}`);
  emit('      return true;');
  emit('    default:');
  emit('      return false;');
  emit('  }');
  emit('}');
  emit();

  // Codecs
  emit('// ---------------------------------------------------------------------------------------------');
  emit('// Decoders read the arguments (after the class and method ids) from a reader confined to the');
  emit('// method payload. Encoders write the arguments; encode<Method>Frame writes a whole frame.');
  emit();
  emit('const EMPTY_ARGS: Record<string, never> = Object.freeze({});');
  emit();
  for (const m of methods) {
    emit(genDecoder(m));
    emit();
    emit(genEncoder(m));
    emit();
  }

  // Dispatch
  emit('// ---------------------------------------------------------------------------------------------');
  emit('// Dispatch');
  emit();
  emit('const sharedReader = new ByteReader(Buffer.alloc(0));');
  emit();
  emit('/**');
  emit(' * Decodes a method frame payload (class id, method id, arguments) in `payload[offset, end)`.');
  emit(' * Throws UnknownMethodError for an unknown class/method and DecodeError for truncated or');
  emit(' * malformed arguments. Trailing bytes after the arguments are ignored. Buffer-typed fields');
  emit(' * (longstr) are subarrays of `payload`.');
  emit(' */');
  emit('export function decodeMethod(payload: Buffer, offset = 0, end = payload.length): AmqpMethod {');
  emit('  return readMethod(sharedReader.reset(payload, offset, end));');
  emit('}');
  emit();
  emit('/** Like decodeMethod, from a reader positioned at the class id. */');
  emit('export function readMethod(r: ByteReader): AmqpMethod {');
  emit("  const classId = r.u16('method class-id');");
  emit("  const methodId = r.u16('method method-id');");
  emit('  switch (classId * 65536 + methodId) {');
  for (const m of methods) {
    const key = methodKey(m);
    emit(`    case ${hex8(methodId(m))}: // ${m.className}.${m.name}`);
    emit(`      return { id: ${hex8(methodId(m))}, args: decode${key}(r) };`);
  }
  emit('    default:');
  emit('      throw new UnknownMethodError(classId, methodId, CLASS_NAMES.has(classId));');
  emit('  }');
  emit('}');
  emit();
  emit('/** Writes the arguments of `method` (without class and method ids). */');
  emit('export function encodeMethodArgs(w: ByteWriter, method: AmqpMethod): void {');
  emit('  switch (method.id) {');
  for (const m of methods) {
    const key = methodKey(m);
    emit(`    case MethodId.${key}:`);
    emit(`      return encode${key}(w, method.args);`);
  }
  emit('    default:');
  emit('      throw new UnknownMethodError((method as { id: number }).id >>> 16, (method as { id: number }).id & 0xffff, false);');
  emit('  }');
  emit('}');
  emit();
  emit('/** Writes `method` as a complete method frame on `channel`. */');
  emit('export function encodeMethodFrame(w: ByteWriter, channel: number, method: AmqpMethod): void {');
  emit('  const start = beginMethodFrame(w, channel, method.id);');
  emit('  try {');
  emit('    encodeMethodArgs(w, method);');
  emit('  } catch (error) {');
  emit('    w.truncate(start);');
  emit('    throw error;');
  emit('  }');
  emit('  endFrame(w, start);');
  emit('}');
  return out.join('\n') + '\n';
}

module.exports = {
  generate,
  parseXml,
  loadSpec,
  readInputs,
  SPEC_PATH,
  EXTENSIONS_PATH,
  OUT_PATH,
  SPEC_REL,
  EXTENSIONS_REL,
  OUT_REL,
};

if (require.main === module) {
  const { specXml, extensionsXml } = readInputs();
  const text = generate(specXml, extensionsXml);
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(OUT_PATH) ? fs.readFileSync(OUT_PATH, 'utf8') : '';
    if (current !== text) {
      console.error(`${OUT_REL} is out of date; run npm run gen:amqp`);
      process.exit(1);
    }
    console.log(`${OUT_REL} is up to date`);
  } else {
    fs.writeFileSync(OUT_PATH, text);
    console.log(`wrote ${OUT_REL}`);
  }
}
