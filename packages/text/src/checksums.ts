/**
 * Check digits of identifiers that have them: a digit run that passes is much more likely to be the identifier than
 * chance (1 in 10 for Luhn and NHS, 1 in 97 for IBAN).
 *
 * Example:
 *   luhnValid('4111111111111111'); // true
 *   nhsValid('9434765919');        // true
 *   ibanValid('GB82WEST12345698765432'); // true
 */

/** Luhn (ISO/IEC 7812): payment cards, many US MRN and device schemes. Digits only. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The Luhn check digit that completes `body`. */
export function luhnCheckDigit(body: string): number {
  for (let c = 0; c <= 9; c++) if (luhnValid(body + c)) return c;
  return 0;
}

/** NHS number (England, Wales, Isle of Man): 10 digits, mod 11 with weights 10..2; remainder 10 is never issued. */
export function nhsValid(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  const expected = check === 11 ? 0 : check;
  return expected !== 10 && expected === digits.charCodeAt(9) - 48;
}

/** IBAN (ISO 13616): country, two check digits, BBAN; mod 97 = 1 over the rearranged number. Case-insensitive. */
export function ibanValid(text: string): boolean {
  const s = text.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = v > 9 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}
