import { createHash } from 'node:crypto';

/**
 * A name-based UUID, version 5 (RFC 9562 §5.5): the SHA-1 of the namespace's 16 bytes then the
 * name's UTF-8 bytes, cut to 16 bytes, with the version and variant bits set. The same
 * namespace and name always give the same UUID, so it can be computed again instead of kept.
 */
export const uuidV5 = (namespace: string, name: string): string => {
  const namespaceBytes = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (namespaceBytes.length !== 16) throw new RangeError(`not a UUID: ${namespace}`);
  const bytes = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x50, 6); // version 5, in the high nibble
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8); // the RFC's variant: binary 10
  const hex = bytes.subarray(0, 16).toString('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join('-');
};
