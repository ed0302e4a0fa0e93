import { ByteReader, decodeFieldTable } from '#core';

export const SASL_MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Reads the SASL response of connection.start-ok. PLAIN is `authzid \0 authcid \0 password`;
 * AMQPLAIN is a field table (without its length prefix) holding LOGIN and PASSWORD.
 * Returns null when the response is malformed.
 */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials | null {
  if (mechanism === 'PLAIN') {
    const first = response.indexOf(0);
    const second = first < 0 ? -1 : response.indexOf(0, first + 1);
    if (first < 0 || second < 0) return null;
    return {
      username: response.toString('utf8', first + 1, second),
      password: response.toString('utf8', second + 1),
    };
  }
  if (mechanism === 'AMQPLAIN') {
    try {
      const framed = Buffer.allocUnsafe(4 + response.length);
      framed.writeUInt32BE(response.length, 0);
      response.copy(framed, 4);
      const table = decodeFieldTable(new ByteReader(framed));
      const login = table.LOGIN;
      const password = table.PASSWORD;
      const asText = (v: unknown): string | null =>
        typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null;
      const username = asText(login);
      const secret = asText(password);
      return username === null || secret === null ? null : { username, password: secret };
    } catch {
      return null;
    }
  }
  return null;
}
