// Where the gateway sends evidence out (checkpoint witnesses, SIEM collectors): HTTPS, or plain HTTP only on
// loopback (tests, a local relay or forwarder); never credentials in the URL, which would land in logs.
import { z } from "zod";

export const outboundUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    if (url.username || url.password) return false;
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}, "expected an https:// URL without credentials (http:// only on loopback)");
