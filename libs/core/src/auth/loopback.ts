/**
 * Whether a peer address is the local machine: RabbitMQ's loopback_users (guest by default) may
 * only connect from such an address.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || plain.startsWith('127.');
}
