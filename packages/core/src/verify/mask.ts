/**
 * Masked forms of values for findings, logs and reports. A name shows the first letter of each word and the
 * length of the rest ('D****** D*******'), the form a reviewer needs to recognise which name leaked without
 * reading it; anything else shows its length only ('<9 chars>'), so that a short ID or a date is never revealed.
 *
 * Example:
 *   maskName('Douglas Davidson'); // 'D****** D*******'
 *   maskLength('292821506');      // '<9 chars>'
 */

export function maskLength(value: string): string {
  return `<${[...value].length} chars>`;
}

export function maskName(value: string): string {
  const words = value.split(/[\s^,]+/).filter((w) => w !== '');
  if (words.length === 0) return maskLength(value);
  return words
    .map((w) => {
      const chars = [...w];
      return chars.length === 1 ? '*' : chars[0]! + '*'.repeat(chars.length - 1);
    })
    .join(' ');
}
