/** A UID as PS3.5 9.1 defines it: digits and dots, at most 64 characters (checked before a UID goes into a URL). */
const UID = /^[0-9]+(\.[0-9]+)*$/;

export function isUid(s: string): boolean {
  return s.length > 0 && s.length <= 64 && UID.test(s);
}
