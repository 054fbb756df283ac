// DNS rebinding: a web page whose name an attacker points at 127.0.0.1 may talk to a server on the
// loopback interface from the victim's browser, with the attacker's name in the Host header. A
// server bound to loopback is only meant for this machine, so it answers only Host names that mean
// this machine, plus what ALLOWED_HOSTS lists ("*" turns the check off).
import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** The name part of a Host header: `[::1]:5005` → `[::1]`, `Example.com:80` → `example.com`. */
function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.lastIndexOf(':');
  return colon >= 0 ? value.slice(0, colon) : value;
}

/**
 * Whether a Host header may reach this server, or null when every Host may: bound to a
 * non-loopback address with nothing listed, or listed "*". A listed entry with a port must match
 * the header whole; one without matches the name on any port.
 */
export function hostGuard(boundHost: string, allowed: readonly string[]): ((header: string | undefined) => boolean) | null {
  if (allowed.includes('*')) return null;
  if (!isLoopbackHost(boundHost) && allowed.length === 0) return null;
  const names = new Set([...(isLoopbackHost(boundHost) ? LOOPBACK_NAMES : []), ...allowed.map((entry) => entry.toLowerCase())]);
  // Not a browser (browsers always send Host): HTTP/1.0 tools may omit it.
  return (header) => header === undefined || names.has(header.trim().toLowerCase()) || names.has(hostName(header));
}
