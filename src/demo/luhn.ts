// Luhn (mod 10) check used by card numbers: the fixture needs valid test PANs and ids that deliberately fail.

export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  return luhnSum(digits, false) % 10 === 0;
}

/** Appends the check digit that makes `body` Luhn-valid. */
export function luhnComplete(body: string): string {
  if (!/^\d+$/.test(body)) throw new RangeError("luhnComplete expects digits");
  const check = (10 - (luhnSum(body, true) % 10)) % 10;
  return body + String(check);
}

// Doubles every second digit counting from the right; `bodyOnly` means the check digit is not present yet.
function luhnSum(digits: string, bodyOnly: boolean): number {
  let sum = 0;
  for (let i = digits.length - 1, pos = bodyOnly ? 1 : 0; i >= 0; i--, pos++) {
    let d = digits.charCodeAt(i) - 48;
    if (pos % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum;
}
