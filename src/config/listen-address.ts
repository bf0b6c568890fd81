// "host:port" and "[v6]:port" listen addresses.

export interface HostPort {
  host: string;
  port: number;
}

/** Returns the parsed address, or a short reason it is not one. */
export function parseListenAddress(text: string): HostPort | string {
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]\s]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) return `expected host:port (IPv6 as [addr]:port), got "${text}"`;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port > 65535) return `port must be 0-65535, got "${match[2]}"`;
  return { host: match[1]!, port };
}
