// How a field name is recognised as sensitive, the same for every protocol: a SQL result column, a JSON
// member, a CSV header, an XML element or a `key=value` in free text. Names are first normalised to
// lower snake case (`socialSecurityNumber`, `Social-Security-Number` and `SOCIAL_SECURITY_NUMBER` are all
// `social_security_number`), then read as whole `_`-separated words: the full name, and every run of
// words at either end (`customer_ssn`, `ssn_last4`), looked up in the spellings below. `lesson` is one
// word and not `ssn`. The spellings are a superset of the policy pack's `mask_names` list
// (policy/custos/lists/data.json; a test keeps the two in step) so rule `ssn` masks `taxId` too.

/** Every known spelling (normalised) → the canonical name the policy's mask rules use. */
const SPELLINGS: Record<string, string> = {
  ssn: "ssn",
  social_security_number: "ssn",
  social_security_no: "ssn",
  social_security: "ssn",
  social_sec_no: "ssn",
  tax_id: "ssn",
  taxid: "ssn",
  taxpayer_id: "ssn",
  tax_number: "ssn",
  tax_no: "ssn",
  taxpayer_number: "ssn",
  tax_identification_number: "ssn",
  account_number: "account_number",
  account_no: "account_number",
  account_num: "account_number",
  acct_number: "account_number",
  acct_no: "account_number",
  acct_num: "account_number",
  accountnumber: "account_number",
  bank_account: "account_number",
  acct: "account_number",
  bank_account_number: "account_number",
  bank_account_no: "account_number",
  iban: "account_number",
  card_number: "card_number",
  card_no: "card_number",
  card_num: "card_number",
  cc_number: "card_number",
  cc_no: "card_number",
  cc_num: "card_number",
  credit_card_number: "card_number",
  credit_card: "card_number",
  cardnumber: "card_number",
  pan: "pan",
  routing_number: "routing_number",
  routing_no: "routing_number",
  routing_num: "routing_number",
  aba_number: "routing_number",
  aba_no: "routing_number",
  routing: "routing_number",
  email: "email",
  e_mail: "email",
  email_address: "email",
  phone: "phone",
  phone_number: "phone",
  phone_no: "phone",
  mobile: "phone",
  mobile_number: "phone",
  cell_phone: "phone",
  cellphone: "phone",
  cell_number: "phone",
  mobile_no: "phone",
  contact_number: "phone",
  msisdn: "phone",
  telephone: "phone",
  date_of_birth: "date_of_birth",
  dob: "date_of_birth",
  birth_date: "date_of_birth",
  birthdate: "date_of_birth",
  birthday: "date_of_birth",
  born_on: "date_of_birth",
};

/** Names longer than this are not looked up (a key is short; this bounds the work per name). */
const MAX_NAME = 96;

const normalized = new Map<string, string>();

/** Lower snake case: camelCase and acronyms split (`taxID` → `tax_id`), any other separator → `_`. */
export function normalizeName(name: string): string {
  const hit = normalized.get(name);
  if (hit !== undefined) return hit;
  const out = normalizeUncached(name);
  if (normalized.size > 10_000) normalized.clear();
  normalized.set(name, out);
  return out;
}

function normalizeUncached(name: string): string {
  if (name.length > MAX_NAME) name = name.slice(0, MAX_NAME);
  let out = "";
  let prev = 0; // 0 start/separator, 1 lower or digit, 2 upper
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const upper = c >= 65 && c <= 90;
    const lower = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    if (upper) {
      const next = name.charCodeAt(i + 1);
      const nextLower = next >= 97 && next <= 122;
      // aB → a_b; ABc → a_bc (the acronym ends before the last capital).
      if (prev === 1 || (prev === 2 && nextLower)) out += "_";
      out += String.fromCharCode(c + 32);
      prev = 2;
    } else if (lower) {
      out += name[i];
      prev = 1;
    } else {
      if (prev !== 0) out += "_";
      prev = 0;
    }
  }
  return out.endsWith("_") ? out.slice(0, -1) : out;
}

const cache = new Map<string, string | null>();

/** The canonical sensitive name `name` is spelled like (`customerSSN` → `ssn`), or null. */
export function sensitiveName(name: string): string | null {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const found = lookup(normalizeName(name));
  if (cache.size > 10_000) cache.clear();
  cache.set(name, found);
  return found;
}

function lookup(norm: string): string | null {
  const whole = SPELLINGS[norm];
  if (whole !== undefined) return whole;
  if (!norm.includes("_")) return null;
  const parts = norm.split("_");
  // Longest runs first, so `bank_account_number` wins over `number`-less slices.
  for (let n = parts.length - 1; n >= 1; n--) {
    const tail = SPELLINGS[parts.slice(parts.length - n).join("_")];
    if (tail !== undefined) return tail;
    const headName = SPELLINGS[parts.slice(0, n).join("_")];
    if (headName !== undefined) return headName;
  }
  return null;
}

/**
 * Whether a column or member named `name` is what a mask rule for `rule` (one name, no qualifier)
 * means: the same name, or both spell the same sensitive name, or `name` holds `rule`'s words at one
 * end (`employee_salary` for a rule `salary`).
 */
const matches = new Map<string, boolean>();

export function nameMatchesRule(rule: string, name: string): boolean {
  const key = `${rule}\u0000${name}`;
  const hit = matches.get(key);
  if (hit !== undefined) return hit;
  const m = matchUncached(rule, name);
  if (matches.size > 20_000) matches.clear();
  matches.set(key, m);
  return m;
}

function matchUncached(rule: string, name: string): boolean {
  const r = rule.toLowerCase();
  if (r === name.toLowerCase()) return true;
  const ruleNorm = normalizeName(rule);
  const canonical = SPELLINGS[ruleNorm];
  if (canonical !== undefined) return sensitiveName(name) === canonical;
  const norm = normalizeName(name);
  if (norm === ruleNorm) return true;
  return norm.startsWith(`${ruleNorm}_`) || norm.endsWith(`_${ruleNorm}`);
}

/** What kind of bare value a field of this name holds, for detectors (see detector.ts flags). */
export function nameKind(name: string): "ssn" | "phone" | null {
  const s = sensitiveName(name);
  return s === "ssn" ? "ssn" : s === "phone" ? "phone" : null;
}

/** Column flags (detector.ts re-exports them): the column holds SSNs, so 9 bare digits are one. */
export const COLUMN_SSN_LIKE = 1;
/** The column holds telephone numbers: a bare 10-digit NANP number is one. */
export const COLUMN_PHONE_LIKE = 2;

const SSN_LIKE = /(^|_)(ssn|social_security(_number|_no)?|tax_?id|tin)($|_)/;

/** Detector flags for a column or member name: which bare forms (9-digit SSN, 10-digit phone) it holds. */
export function columnFlags(name: string): number {
  if (name === "") return 0;
  const kind = nameKind(name);
  if (kind === "ssn" || SSN_LIKE.test(normalizeName(name))) return COLUMN_SSN_LIKE;
  return kind === "phone" ? COLUMN_PHONE_LIKE : 0;
}

export const SPELLING_TABLE: Readonly<Record<string, string>> = SPELLINGS;
