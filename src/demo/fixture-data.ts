// The demo bank, generated from a fixed seed: customers, accounts, cards, transactions, and orders whose
// 16-digit ids fail Luhn (decoys for masking false positives). All people, SSNs and PANs are synthetic.
import { luhnComplete, luhnValid } from "./luhn.ts";
import { createRng, type Rng } from "./prng.ts";

export interface Customer {
  id: number;
  fullName: string;
  email: string;
  phone: string;
  ssn: string;
  dateOfBirth: string;
  address: string;
}
export interface Account {
  id: number;
  customerId: number;
  accountNumber: string;
  routingNumber: string;
  type: "checking" | "savings" | "credit";
  balance: string;
  openedAt: string;
}
export interface Card {
  id: number;
  accountId: number;
  cardNumber: string;
  expiry: string;
  status: "active" | "blocked" | "expired";
}
export interface Transaction {
  id: number;
  accountId: number;
  amount: string;
  merchant: string;
  createdAt: string;
  memo: string | null;
}
export interface Order {
  /** 16 digits that fail Luhn: looks like a PAN, is not one. */
  id: string;
  customerId: number;
  placedAt: string;
  total: string;
  /** 10-digit integer shaped like a US phone number. */
  contactPhone: number;
  /** 9-digit integer shaped like an undashed SSN. */
  batchCode: number;
  sku: string;
  quantity: number;
}
export interface FixtureRows {
  customers: Customer[];
  accounts: Account[];
  cards: Card[];
  transactions: Transaction[];
  orders: Order[];
}

export const FIXTURE_SEED = 0x0c057005;
export const FIXTURE_COUNTS = {
  customers: 50,
  accounts: 80,
  cards: 80,
  transactions: 1000,
  orders: 60,
} as const;

// Published test PANs (Stripe, Braintree, PayPal sandbox docs); the rest are generated under the 400000 test BIN.
const TEST_PANS = [
  "4111111111111111",
  "4242424242424242",
  "4012888888881881",
  "5555555555554444",
  "5105105105105100",
  "2223003122003222",
  "378282246310005",
  "371449635398431",
  "6011111111111117",
  "6011000990139424",
  "3566002020360505",
  "30569309025904",
] as const;

const FIRST = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "Ken",
  "Radia",
  "Leslie",
  "Margaret",
  "Dennis",
  "Hedy",
  "John",
  "Katherine",
  "Linus",
  "Annie",
  "Niklaus",
  "Shafi",
  "Tim",
] as const;
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Allen",
  "Thompson",
  "Perlman",
  "Lamport",
  "Hamilton",
  "Ritchie",
  "Lamarr",
  "Backus",
  "Johnson",
  "Torvalds",
  "Easley",
  "Wirth",
  "Goldwasser",
  "Berners-Lee",
  "O'Neil",
] as const;
const STREETS = [
  "Maple Ave",
  "Oak St",
  "Cedar Ln",
  "Pine Rd",
  "Elm St",
  "Birch Way",
  "Willow Dr",
  "Harbor Blvd",
] as const;
const CITIES = [
  ["Springfield", "IL", "627"],
  ["Portland", "OR", "972"],
  ["Austin", "TX", "787"],
  ["Madison", "WI", "537"],
  ["Burlington", "VT", "054"],
  ["Boulder", "CO", "803"],
] as const;
const AREA_CODES = ["202", "312", "415", "512", "617", "718", "971"] as const;
const MERCHANTS = [
  "Corner Grocery",
  "City Transit",
  "Blue Bottle Cafe",
  "Acme Hardware",
  "Northwind Traders",
  "Contoso Pharmacy",
  "Fabrikam Fuel",
  "Payroll ACME Corp",
  "Rent - Parkside Apts",
  "Streamly",
  "Book Nook",
  "Utility Co-op",
] as const;
const SKUS = ["CHK-BOOK-50", "CARD-METAL", "SAFE-BOX-S", "COIN-ROLL", "WIRE-INTL"] as const;

const EPOCH_2025 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

export function generateFixture(seed: number = FIXTURE_SEED): FixtureRows {
  const rng = createRng(seed);
  const customers = generateCustomers(rng);
  const accounts = generateAccounts(rng, customers.length);
  const cards = generateCards(rng, accounts);
  const transactions = generateTransactions(rng, accounts, customers, cards);
  const orders = generateOrders(rng, customers.length);
  return { customers, accounts, cards, transactions, orders };
}

function generateCustomers(rng: Rng): Customer[] {
  const ssns = new Set<string>(["078-05-1120"]); // the famous voided "Woolworth wallet" SSN
  while (ssns.size < FIXTURE_COUNTS.customers) ssns.add(fakeSsn(rng));
  return [...ssns].map((ssn, i) => {
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const [city, state, zip] = rng.pick(CITIES);
    const id = i + 1;
    return {
      id,
      fullName: `${first} ${last}`,
      email: `${first}.${last.replace(/[^A-Za-z]/g, "")}${id}@example.com`.toLowerCase(),
      // 555-0100..0199 is reserved for fiction in the North American Numbering Plan.
      phone: `+1-${rng.pick(AREA_CODES)}-555-${String(100 + i).padStart(4, "0")}`,
      ssn,
      dateOfBirth: isoDate(Date.UTC(1950, 0, 1) + rng.int(0, 50 * 365) * DAY),
      address: `${rng.int(1, 9999)} ${rng.pick(STREETS)}, ${city}, ${state} ${zip}${rng.digits(2)}`,
    };
  });
}

// Area 001-899 without 666, group 01-99, serial 0001-9999: the shape SSA issues, values synthetic.
function fakeSsn(rng: Rng): string {
  let area = rng.int(1, 899);
  if (area === 666) area = 667;
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return `${pad(area, 3)}-${pad(rng.int(1, 99), 2)}-${pad(rng.int(1, 9999), 4)}`;
}

function generateAccounts(rng: Rng, customerCount: number): Account[] {
  const owners = Array.from({ length: customerCount }, (_, i) => i + 1);
  while (owners.length < FIXTURE_COUNTS.accounts) owners.push(rng.int(1, customerCount));
  const numbers = new Set<string>();
  return owners.map((customerId, i) => {
    let accountNumber = `${rng.int(1, 9)}${rng.digits(11)}`;
    while (numbers.has(accountNumber)) accountNumber = `${rng.int(1, 9)}${rng.digits(11)}`;
    numbers.add(accountNumber);
    const type = rng.pick(["checking", "checking", "savings", "credit"] as const);
    const cents = type === "credit" ? -rng.int(0, 500_000) : rng.int(0, 25_000_000);
    return {
      id: i + 1,
      customerId,
      accountNumber,
      routingNumber: abaRouting(rng),
      type,
      balance: money(cents),
      openedAt: isoTimestamp(Date.UTC(2015, 0, 1) + rng.int(0, 3600) * DAY + rng.int(0, DAY / 1000) * 1000),
    };
  });
}

// ABA routing checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
function abaRouting(rng: Rng): string {
  const body = `0${rng.int(1, 9)}${rng.digits(6)}`;
  const d = [...body].map(Number) as [number, number, number, number, number, number, number, number];
  const partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
  return body + String((10 - (partial % 10)) % 10);
}

function generateCards(rng: Rng, accounts: Account[]): Card[] {
  const pans = new Set<string>(TEST_PANS);
  while (pans.size < accounts.length) pans.add(luhnComplete(`400000${rng.digits(9)}`));
  const list = [...pans];
  return accounts.map((account, i) => ({
    id: i + 1,
    accountId: account.id,
    cardNumber: list[i] as string,
    expiry: `${String(rng.int(1, 12)).padStart(2, "0")}/${rng.int(24, 31)}`,
    status: rng.pick(["active", "active", "active", "blocked", "expired"] as const),
  }));
}

function generateTransactions(
  rng: Rng,
  accounts: Account[],
  customers: Customer[],
  cards: Card[],
): Transaction[] {
  const out: Transaction[] = [];
  for (let id = 1; id <= FIXTURE_COUNTS.transactions; id++) {
    const account = rng.pick(accounts);
    const merchant = rng.pick(MERCHANTS);
    const credit = merchant.startsWith("Payroll");
    const cents = credit ? rng.int(150_000, 600_000) : -rng.int(100, 250_000);
    out.push({
      id,
      accountId: account.id,
      amount: money(cents),
      merchant,
      createdAt: isoTimestamp(EPOCH_2025 + rng.int(0, 364) * DAY + rng.int(0, DAY / 1000 - 1) * 1000),
      memo: memo(rng, id, account, customers, cards),
    });
  }
  return out;
}

// Every 100th memo carries a secret in free text, as call-centre notes do; masking must catch those too.
function memo(rng: Rng, id: number, account: Account, customers: Customer[], cards: Card[]): string | null {
  if (id % 100 === 0) {
    const owner = customers[account.customerId - 1];
    const card = cards[account.id - 1];
    return id % 200 === 0
      ? `Caller verified SSN ${owner?.ssn} before dispute`
      : `Refund issued to card ${card?.cardNumber}`;
  }
  return rng.next() < 0.3
    ? rng.pick(["groceries", "monthly rent", "coffee", "fuel", "gift", "subscription"])
    : null;
}

function generateOrders(rng: Rng, customerCount: number): Order[] {
  const ids = new Set<string>();
  while (ids.size < FIXTURE_COUNTS.orders) {
    // Half start with 4 so they also look like Visa PANs; the last digit is chosen to break the checksum.
    const body = `${ids.size % 2 === 0 ? 4 : rng.int(1, 9)}${rng.digits(14)}`;
    const valid = luhnComplete(body);
    const id = body + String((Number(valid.slice(-1)) + rng.int(1, 9)) % 10);
    if (!luhnValid(id)) ids.add(id);
  }
  return [...ids].map((id) => ({
    id,
    customerId: rng.int(1, customerCount),
    placedAt: isoTimestamp(EPOCH_2025 + rng.int(0, 364) * DAY),
    total: money(rng.int(500, 90_000)),
    contactPhone: Number(`${rng.pick(AREA_CODES)}555${rng.int(1000, 9999)}`),
    batchCode: rng.int(100_000_000, 899_999_999),
    sku: rng.pick(SKUS),
    quantity: rng.int(1, 20),
  }));
}

function money(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(".000Z", "+00");
}
